// `mirrorlite start`: opens (or initialises) the data directory, recovers every database, prints
// "ready …" once it accepts TDS connections, and shuts down cleanly on SIGTERM / SIGINT.
// TLS: --tls-cert FILE --tls-key FILE (PEM) or else a self-signed certificate kept in the data
// directory; --force-encryption refuses clients that do not encrypt.
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { CatalogError, SaPasswordError } from "../catalog/master.js";
import { TlsCertificateError } from "../security/server_certificate.js";
import { Instance } from "../server/instance.js";
import { DataDirectoryInUseError } from "../storage/engine.js";

export async function runStart(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      data: { type: "string" },
      name: { type: "string" },
      port: { type: "string", default: "1433" },
      listen: { type: "string", default: "0.0.0.0" },
      "sa-password": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "force-encryption": { type: "boolean", default: false },
      "route-mirror-logins": { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.data === undefined) return fail("--data DIR is required");
  if ((values["tls-cert"] === undefined) !== (values["tls-key"] === undefined)) {
    return fail("--tls-cert FILE and --tls-key FILE go together");
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return fail(`--port ${values.port} is not a TCP port`);
  let instance: Instance;
  try {
    instance = await Instance.open({
      dataDir: path.resolve(values.data),
      name: values.name ?? os.hostname().toUpperCase(),
      port,
      listen: values.listen,
      saPassword: values["sa-password"] ?? process.env.MSSQL_SA_PASSWORD,
      durabilityTestMode: process.env.MIRRORLITE_DURABILITY_TEST_MODE === "1",
      tlsCertificate: values["tls-cert"] === undefined || values["tls-key"] === undefined ? undefined
        : { certFile: path.resolve(values["tls-cert"]), keyFile: path.resolve(values["tls-key"]) },
      forceEncryption: values["force-encryption"],
      routeMirrorLogins: values["route-mirror-logins"],
    }, new Date());
  } catch (error) {
    if (error instanceof SaPasswordError) return fail(error.message);
    if (error instanceof DataDirectoryInUseError || error instanceof CatalogError
      || error instanceof TlsCertificateError) {
      return fail(`${error.message}\nhint: ${error.hint}`);
    }
    throw error;
  }
  let bound: number;
  try {
    bound = await instance.listen();
  } catch (error) {
    await instance.stop();
    return fail(`cannot listen on ${values.listen}:${port}: ${(error as Error).message}`);
  }
  const stop = (): void => {
    instance.stop().then(() => process.exit(0), (error: Error) => {
      process.stderr.write(`mirrorlite: shutdown failed: ${error.stack ?? error.message}\n`);
      process.exit(1);
    });
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  const { certFile, generated, certificate } = instance.tlsCredentials;
  process.stdout.write(`tls certificate ${certFile} (${generated ? "self-signed" : "configured"}, `
    + `SHA-256 ${certificate.fingerprint256}, valid to ${certificate.validTo})`
    + `${instance.tls.forceEncryption ? ", encryption forced" : ""}\n`);
  process.stdout.write(`ready instance ${instance.serverName} (${instance.catalog.instanceGuid}) `
    + `listening on ${values.listen}:${bound} data ${path.resolve(values.data)} pid ${process.pid}\n`);
}

function fail(message: string): void {
  process.stderr.write(`mirrorlite start: ${message}\n`);
  process.exitCode = 1;
}
