/** Bad input (missing file, unparseable YAML): the CLI exits 2 with this message. */
export class InputError extends Error {
  override name = 'InputError';
  constructor(
    message: string,
    /** The file (and line) at fault, when the error is about one input file. */
    readonly location?: { file: string; line?: number },
  ) {
    super(message);
  }
}
