// DONE tokens are held back one step, so only the last token of a response lacks the MORE bit:
// in a SQL batch each statement ends with DONE and the batch with a final DONE; inside an RPC
// each statement ends with DONEINPROC and the procedure with RETURNSTATUS, RETURNVALUEs and a
// final DONEPROC (spec/tds.md §1.8).
import { DoneStatus, type TokenWriter } from "../tds/tokens.js";

export type ResponseShape = "batch" | "rpc";

interface PendingDone { status: number; curCmd: number; count: number | bigint }

export class DoneChain {
  private pending: PendingDone | null = null;
  private errored = false;

  constructor(private readonly tokens: TokenWriter, private readonly inTransaction: () => boolean,
    readonly shape: ResponseShape = "batch") {}

  /** Call before writing any token of a new statement. */
  release(): void {
    if (this.pending === null) return;
    const { status, curCmd, count } = this.pending;
    this.pending = null;
    if (this.shape === "batch") this.tokens.done(status | DoneStatus.MORE, curCmd, count);
    else this.tokens.doneInProc(status | DoneStatus.MORE, curCmd, count);
  }

  statementDone(status: number, curCmd: number, count: number | bigint): void {
    this.release();
    if ((status & DoneStatus.ERROR) !== 0) this.errored = true;
    const inXact = this.inTransaction() ? DoneStatus.INXACT : 0;
    this.pending = { status: status | inXact, curCmd, count };
  }

  /** The end of a SQL batch: the last statement's DONE without MORE (or an empty DONE). */
  finishBatch(): void {
    const last = this.pending ?? { status: this.inTransactionBit(), curCmd: 0, count: 0 };
    this.pending = null;
    this.tokens.done(last.status, last.curCmd, last.count);
  }

  /** The end of one RPC: DONEINPROCs, then `epilogue` (RETURNSTATUS, RETURNVALUEs), DONEPROC. */
  finishProcedure(epilogue: () => void, more: boolean): void {
    this.release();
    epilogue();
    const status = this.inTransactionBit() | (this.errored ? DoneStatus.ERROR : 0) | (more ? DoneStatus.MORE : 0);
    this.tokens.doneProc(status, 0xe0, 0);
    this.errored = false;
  }

  private inTransactionBit(): number {
    return this.inTransaction() ? DoneStatus.INXACT : 0;
  }
}
