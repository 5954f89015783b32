import { errorCatalog, type ErrorName } from "./catalog.js";

/**
 * A client-visible error: exactly the fields of a TDS ERROR token. Built only from the catalog,
 * so every number, severity and text the server sends is listed in one place.
 */
export class SqlError extends Error {
  override readonly name = "SqlError";
  readonly number: number;
  readonly severity: number;
  readonly state: number;
  readonly symbol: string;

  constructor(entry: ErrorName, args: readonly (string | number)[] = [], options?: ErrorOptions) {
    const spec = errorCatalog[entry];
    super(format(spec.text, args), options);
    this.number = spec.number;
    this.severity = spec.severity;
    this.state = spec.state;
    this.symbol = spec.symbol;
  }
}

function format(template: string, args: readonly (string | number)[]): string {
  let next = 0;
  return template.replace(/%[sd]/g, () => String(args[next++] ?? ""));
}
