/**
 * A problem with one input file. Import keeps going with the rest of the
 * folder and shows these per file, so the message must name the problem and
 * what the user can do about it.
 */
export class DataError extends Error {
  override readonly name = 'DataError';
  constructor(
    readonly fileName: string,
    message: string,
  ) {
    super(`${fileName}: ${message}`);
  }
  /** The message without the file-name prefix. */
  get problem(): string {
    return this.message.slice(this.fileName.length + 2);
  }
}
