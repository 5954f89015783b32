/*
** The guard: a SQLite loadable extension that every connection of the server
** loads. It takes checkpointing away from SQLite (the server alone decides
** when the WAL is checkpointed, and never truncates it), forbids SQL that
** would change journaling or reach other files, and lets any thread interrupt
** a query running on any connection of the process.
*/
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

typedef struct Conn Conn;
struct Conn {
  sqlite3 *db;
  sqlite3_int64 id;  /* immutable after registration */
  sqlite3_int64 job; /* guarded by mu; 0 = idle */
  Conn *next;
};

typedef struct LockFd LockFd;
struct LockFd {
  int fd;
  LockFd *next;
  char path[]; /* exact string given to guard_lock_dir */
};

/* One mutex for all process-wide state. Holding it while calling
** sqlite3_interrupt() is what makes cross-thread interrupts safe: a closing
** connection must take it (in connDestroy) before SQLite frees the handle. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static Conn *conns;
static sqlite3_int64 nextId = 1;
static LockFd *locks;

/* Called by SQLite while closing the connection (or if the function holding
** it is replaced), before the sqlite3 handle is freed. */
static void connDestroy(void *p) {
  Conn **pp;
  pthread_mutex_lock(&mu);
  for (pp = &conns; *pp; pp = &(*pp)->next) {
    if (*pp == p) { *pp = ((Conn *)p)->next; break; }
  }
  pthread_mutex_unlock(&mu);
  free(p);
}

static void fnConnectionId(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc; (void)argv;
  sqlite3_result_int64(ctx, ((Conn *)sqlite3_user_data(ctx))->id);
}

static void fnJob(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  Conn *c = sqlite3_user_data(ctx);
  sqlite3_int64 job = sqlite3_value_int64(argv[0]);
  (void)argc;
  pthread_mutex_lock(&mu);
  c->job = job;
  pthread_mutex_unlock(&mu);
  sqlite3_result_null(ctx);
}

static void fnInterrupt(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3_int64 id = sqlite3_value_int64(argv[0]);
  sqlite3_int64 job = sqlite3_value_int64(argv[1]);
  int hit = 0;
  Conn *c;
  (void)argc;
  pthread_mutex_lock(&mu);
  /* connId 0 means "whichever connection runs this job": job numbers are unique in the
  ** process and the caller may not know which thread picked the job up. */
  for (c = conns; c && job != 0; c = c->next) {
    if (c->id == id || id == 0) {
      /* The job check stops a late interrupt from killing the next query.
      ** Caveat: one that lands after guard_job() but before the statement
      ** starts is lost, as sqlite3_step() clears the flag on an idle db;
      ** callers keep interrupting while the job is still theirs. */
      if (c->job == job) { sqlite3_interrupt(c->db); hit = 1; break; }
      if (id != 0) break;
    }
  }
  pthread_mutex_unlock(&mu);
  sqlite3_result_int(ctx, hit);
}

static void fnCheckpoint(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const struct { const char *name; int mode; } modes[] = {
    {"PASSIVE", SQLITE_CHECKPOINT_PASSIVE},
    {"FULL", SQLITE_CHECKPOINT_FULL},
    {"RESTART", SQLITE_CHECKPOINT_RESTART},
  };
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  const char *z = (const char *)sqlite3_value_text(argv[0]);
  int i, rc, nLog = -1, nCkpt = -1;
  char *out;
  (void)argc;
  for (i = 0; i < 3 && (!z || sqlite3_stricmp(z, modes[i].name) != 0); i++) {}
  if (i == 3) {
    /* TRUNCATE is refused on purpose: the WAL is never truncated by design. */
    sqlite3_result_error(ctx, "guard_checkpoint: mode must be PASSIVE, FULL or RESTART", -1);
    return;
  }
  rc = sqlite3_wal_checkpoint_v2(db, "main", modes[i].mode, &nLog, &nCkpt);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    sqlite3_result_error(ctx, sqlite3_errmsg(db), -1);
    sqlite3_result_error_code(ctx, rc);
    return;
  }
  out = sqlite3_mprintf("{\"busy\":%d,\"log\":%d,\"checkpointed\":%d}",
                        rc == SQLITE_BUSY, nLog, nCkpt);
  if (!out) { sqlite3_result_error_nomem(ctx); return; }
  sqlite3_result_text(ctx, out, -1, sqlite3_free);
}

static void fnLockDir(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *path = (const char *)sqlite3_value_text(argv[0]);
  LockFd *l;
  int fd, err = 0, ok = 0;
  (void)argc;
  if (!path || !path[0]) { sqlite3_result_error(ctx, "guard_lock_dir: empty path", -1); return; }
  pthread_mutex_lock(&mu);
  /* CLOEXEC: a spawned child must not inherit (and so keep holding) the lock
  ** after this process releases or dies. flock() conflicts between open file
  ** descriptions, so a second open() of the same path in this process fails
  ** to lock exactly like another process would. */
  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    err = errno;
  } else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) err = errno;
    close(fd);
  } else if (!(l = malloc(sizeof *l + strlen(path) + 1))) {
    err = ENOMEM;
    close(fd);
  } else {
    l->fd = fd;
    strcpy(l->path, path);
    l->next = locks;
    locks = l;
    ok = 1;
  }
  pthread_mutex_unlock(&mu);
  if (err) {
    char *msg = sqlite3_mprintf("guard_lock_dir(%s): %s", path, strerror(err));
    sqlite3_result_error(ctx, msg ? msg : "guard_lock_dir failed", -1);
    sqlite3_free(msg);
    return;
  }
  sqlite3_result_int(ctx, ok);
}

static void fnUnlockDir(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  const char *path = (const char *)sqlite3_value_text(argv[0]);
  LockFd **pp, *l = 0;
  (void)argc;
  pthread_mutex_lock(&mu);
  for (pp = &locks; path && *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->path, path) == 0) { l = *pp; *pp = l->next; break; }
  }
  pthread_mutex_unlock(&mu);
  if (l) { close(l->fd); free(l); }
  sqlite3_result_int(ctx, l != 0);
}

static int isOneOf(const char *z, const char *const *names) {
  for (; z && *names; names++) if (sqlite3_stricmp(z, *names) == 0) return 1;
  return 0;
}

static int authorizer(void *p, int op, const char *a1, const char *a2,
                      const char *dbName, const char *trigger) {
  static const char *const settable[] = {"journal_mode", "synchronous",
                                         "locking_mode", "wal_autocheckpoint", 0};
  static const char *const never[] = {"wal_checkpoint", 0};
  (void)p; (void)dbName; (void)trigger;
  if (op == SQLITE_ATTACH) {
    /* a1 is NULL when the file name is not a literal (e.g. a parameter).
    ** "" is the temp db that plain VACUUM attaches; VACUUM INTO 'f' attaches
    ** 'f' through the same path and is therefore denied here. */
    return a1 && (a1[0] == 0 || strcmp(a1, ":memory:") == 0) ? SQLITE_OK : SQLITE_DENY;
  }
  if (op == SQLITE_PRAGMA) {
    if (isOneOf(a1, never) || (a2 && isOneOf(a1, settable))) return SQLITE_DENY;
  }
  return SQLITE_OK;
}

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_guard_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi) {
  static const struct {
    const char *name; int nArg; void (*x)(sqlite3_context *, int, sqlite3_value **);
  } fns[] = {
    {"guard_job", 1, fnJob},
    {"guard_interrupt", 2, fnInterrupt},
    {"guard_checkpoint", 1, fnCheckpoint},
    {"guard_lock_dir", 1, fnLockDir},
    {"guard_unlock_dir", 1, fnUnlockDir},
  };
  const int flags = SQLITE_UTF8 | SQLITE_DIRECTONLY;
  Conn *c;
  int rc = SQLITE_OK;
  size_t i;

  /* Publish sqlite3_api once, under the mutex, so loads racing in several
  ** threads do not write the global concurrently. */
  pthread_mutex_lock(&mu);
  if (!sqlite3_api) { SQLITE_EXTENSION_INIT2(pApi); }
  c = calloc(1, sizeof *c);
  if (c) {
    c->db = db;
    c->id = nextId++;
    c->next = conns;
    conns = c;
  }
  pthread_mutex_unlock(&mu);
  if (!c) return SQLITE_NOMEM;

  /* Checkpoints happen only through guard_checkpoint(): not on commit, not on
  ** close (which would also delete the WAL). */
  if (sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)0) != SQLITE_OK ||
      sqlite3_wal_autocheckpoint(db, 0) != SQLITE_OK) {
    connDestroy(c);
    if (pzErrMsg) *pzErrMsg = sqlite3_mprintf("guard: cannot disable checkpoints");
    return SQLITE_ERROR;
  }
  sqlite3_set_authorizer(db, authorizer, 0);

  /* Registered first because it owns the entry: from here on SQLite frees it
  ** (also when registration fails), so no function can outlive it. Reloading
  ** the guard on the same connection frees the previous entry right here. */
  rc = sqlite3_create_function_v2(db, "guard_connection_id", 0, SQLITE_UTF8, c,
                                  fnConnectionId, 0, 0, connDestroy);
  for (i = 0; rc == SQLITE_OK && i < sizeof fns / sizeof fns[0]; i++) {
    rc = sqlite3_create_function_v2(db, fns[i].name, fns[i].nArg, flags, c,
                                    fns[i].x, 0, 0, 0);
  }
  if (rc != SQLITE_OK && pzErrMsg) {
    *pzErrMsg = sqlite3_mprintf("guard: cannot register functions: %s", sqlite3_errmsg(db));
  }
  return rc;
}
