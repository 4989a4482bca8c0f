import { REJECT_REASONS, reject, type LineParser, type ParseResult, type RejectReason } from "./parse-result";

export interface LineStats {
  /** Lines that became events. */
  parsed: number;
  /** Lines skipped, per reason. */
  rejected: Record<RejectReason, number>;
  /** Empty or whitespace-only lines, ignored. */
  blank: number;
}

export interface LineReaderOptions {
  /**
   * Longest line accepted, in bytes; a longer one is dropped unparsed and
   * counted as `line-too-long`, so one runaway writer cannot exhaust memory.
   * @default 1 MiB
   */
  readonly maxLineBytes?: number;
  /**
   * Counts to add to, shared by readers that feed one source (a follower
   * opens a new reader per file, a listener one per connection).
   * @default counts of this reader alone
   */
  readonly stats?: LineStats;
}

const NEWLINE = 0x0a;

/**
 * Splits a byte stream of newline-terminated records into lines, parses each
 * with the engine's parser and counts what became events and what was skipped
 * and why. It tracks how many input bytes have been fully consumed, so a
 * follower can save that offset and resume there after a restart without
 * losing or repeating a line.
 */
export class EventLineReader {
  readonly stats: LineStats;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discarding = false;
  /** Bytes of the current line so far, kept or discarded. */
  private lineBytes = 0;
  private consumed = 0;
  private readonly maxLineBytes: number;

  constructor(
    private readonly parse: LineParser,
    options: LineReaderOptions = {},
  ) {
    this.maxLineBytes = options.maxLineBytes ?? 1024 * 1024;
    this.stats = options.stats ?? emptyLineStats();
  }

  /** Input bytes up to and including the last complete line: where to resume reading. */
  get committedOffset(): number {
    return this.consumed;
  }

  /** Feeds the next chunk; returns the results of the lines it completed, in order. */
  push(chunk: Buffer | string): ParseResult[] {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    const results: ParseResult[] = [];
    let start = 0;
    for (let newline = bytes.indexOf(NEWLINE); newline !== -1; newline = bytes.indexOf(NEWLINE, start)) {
      let result: ParseResult | undefined;
      if (this.lineBytes === 0 && newline - start <= this.maxLineBytes) {
        // The whole line is in this chunk: decode it in place, no copy.
        this.lineBytes = newline - start + 1;
        result = this.completeLine(bytes.toString("utf8", start, newline));
      } else {
        this.keep(bytes.subarray(start, newline));
        this.lineBytes += 1;
        result = this.finishLine();
      }
      if (result) results.push(result);
      start = newline + 1;
    }
    this.keep(bytes.subarray(start));
    return results;
  }

  /** At the true end of input: the unterminated last line, if any (usually a truncated write). */
  end(): ParseResult[] {
    if (this.lineBytes === 0) return [];
    const result = this.finishLine();
    return result ? [result] : [];
  }

  private keep(part: Buffer): void {
    this.lineBytes += part.length;
    if (this.discarding || part.length === 0) return;
    if (this.pendingBytes + part.length > this.maxLineBytes) {
      this.discarding = true;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    // Copy: the caller may reuse its buffer.
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
  }

  private finishLine(): ParseResult | undefined {
    if (this.discarding) {
      this.pending = [];
      this.pendingBytes = 0;
      this.discarding = false;
      return this.count(reject("line-too-long", `(line): longer than ${this.maxLineBytes} bytes`));
    }
    const text = Buffer.concat(this.pending, this.pendingBytes).toString("utf8");
    this.pending = [];
    this.pendingBytes = 0;
    return this.completeLine(text);
  }

  /** Parses the text of the line just ended (without its newline) and counts it. */
  private completeLine(text: string): ParseResult | undefined {
    const line = text.endsWith("\r") ? text.slice(0, -1) : text;
    if (line.trim() === "") {
      this.stats.blank++;
      this.consumed += this.lineBytes;
      this.lineBytes = 0;
      return undefined;
    }
    return this.count(this.parse(line));
  }

  private count(result: ParseResult): ParseResult {
    this.consumed += this.lineBytes;
    this.lineBytes = 0;
    if (result.ok) this.stats.parsed++;
    else this.stats.rejected[result.reason]++;
    return result;
  }
}

/** Every line of `source` parsed in order; `reader.stats` counts them. */
export async function* parseLineStream(
  source: AsyncIterable<Buffer | string>,
  reader: EventLineReader,
): AsyncGenerator<ParseResult> {
  for await (const chunk of source) yield* reader.push(chunk);
  yield* reader.end();
}

/** Parses a whole text (a log file's contents) with `parse`; results in line order and the counts. */
export function parseLines(text: string, parse: LineParser): { results: ParseResult[]; stats: LineStats } {
  const reader = new EventLineReader(parse);
  const results = [...reader.push(text), ...reader.end()];
  return { results, stats: reader.stats };
}

/** Counts of nothing yet: zero parsed, zero per reject reason, zero blank. */
export function emptyLineStats(): LineStats {
  const rejected = Object.fromEntries(REJECT_REASONS.map((reason) => [reason, 0])) as Record<
    RejectReason,
    number
  >;
  return { parsed: 0, rejected, blank: 0 };
}
