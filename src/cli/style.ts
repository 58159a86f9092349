/** ANSI colours, only for a terminal and never when NO_COLOR is set (https://no-color.org). */
export interface Style {
  red(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

const wrap = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;

const COLOURS: Style = { red: wrap(31, 39), yellow: wrap(33, 39), cyan: wrap(36, 39), bold: wrap(1, 22), dim: wrap(2, 22) };
const PLAIN: Style = { red: String, yellow: String, cyan: String, bold: String, dim: String };

export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Style {
  return stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb' ? COLOURS : PLAIN;
}
