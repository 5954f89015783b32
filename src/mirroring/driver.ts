// A tiny synchronous driver around the pure session machine (raft's RawNode shape, STYLE.md L2):
// it holds the state and the effects not yet carried out. The runtime calls ready(), carries the
// effects out in list order (persist fsynced before any later send), then calls advance().
import { step } from "./session.js";
import type { SessionEffect, SessionInput, SessionState } from "./session_types.js";

export class SessionDriver {
  private current: SessionState;
  private pending: SessionEffect[] = [];

  constructor(state: SessionState) {
    this.current = state;
  }

  get state(): SessionState {
    return this.current;
  }

  /** Feed one input; its effects queue behind those not yet carried out. */
  step(input: SessionInput): void {
    const result = step(this.current, input);
    this.current = result.state;
    this.pending.push(...result.effects);
  }

  /** Effects to carry out, in order. */
  ready(): readonly SessionEffect[] {
    return this.pending.slice();
  }

  /** The first `count` effects of ready() (all by default) have been carried out. */
  advance(count = this.pending.length): void {
    this.pending.splice(0, count);
  }
}
