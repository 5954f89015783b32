// The @params argument of sp_executesql / sp_prepare: "@a int, @s nvarchar(5), @o int OUTPUT".
// Names (lower-cased, with '@') in declaration order, with their type text and OUTPUT flag;
// unnamed RPC parameters bind to these by position.
import { syntaxError } from "./errors.js";
import { tokenize, type Token } from "./lexer.js";

export interface ParameterDeclaration {
  readonly name: string;
  readonly type: string;
  readonly output: boolean;
}

export function parseParameterDeclarations(text: string): ParameterDeclaration[] {
  const tokens = tokenize(text).filter((token) => token.kind !== "space" && token.kind !== "comment");
  const declarations: ParameterDeclaration[] = [];
  for (const part of splitTopLevel(tokens)) {
    const [name, ...rest] = part;
    if (name === undefined) continue;
    if (name.kind !== "variable") throw syntaxError("SQL_SYNTAX_ERROR", [name.text], name.line);
    const last = rest[rest.length - 1];
    const output = last?.kind === "word" && ["OUTPUT", "OUT"].includes(last.text.toUpperCase());
    const typeTokens = output ? rest.slice(0, -1) : rest;
    if (typeTokens.length === 0) throw syntaxError("SQL_SYNTAX_ERROR", [name.text], name.line);
    declarations.push({ name: name.text.toLowerCase(), type: typeTokens.map((t) => t.text).join(" "), output });
  }
  return declarations;
}

function splitTopLevel(tokens: readonly Token[]): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (token.kind === "op" && token.text === "(") depth += 1;
    if (token.kind === "op" && token.text === ")") depth -= 1;
    if (token.kind === "op" && token.text === "," && depth === 0) parts.push([]);
    else parts[parts.length - 1]!.push(token);
  }
  return parts;
}
