import { endianness } from 'node:os';

import type { Aggregation } from '@/lib/schemas/workers';
import type { Segment } from '@/lib/stats/plan';
import type { SeriesCollector } from '@/lib/stats/series';

import type { ChunkedRollup } from './chunks';

/** A chunk row as the chunk query returns it. */
export interface ChunkRow {
  worker: string;
  metric: number | string;
  aggregation: Aggregation;
  /** Span start in seconds. */
  start: number | string;
  /** End of the buckets the chunk covers, in seconds. */
  covered_until: number | string;
  /** Base64 of the packed float8 values, big-endian, NaN for an empty bucket. */
  packed: string;
}

const EMPTY: Float64Array<ArrayBufferLike> = new Float64Array(0);

/** Bytes per packed float8 value. */
const FLOAT8_BYTES = 8;

/** Chunks are stored big-endian, so a little-endian host swaps the bytes before viewing them as float64. */
const SWAP_BYTES = endianness() === 'LE';

/** Values per block of a reader's arena: 2 MiB, many chunks each. */
const BLOCK_VALUES = 262_144;

/** Free blocks kept for later readers: 64 MiB at most. */
const MAX_FREE_BLOCKS = 32;

/**
 * Blocks that earlier readers released. The first write to fresh memory costs a page
 * fault per 4 KiB page, which measured as long as the copying itself, so readers reuse
 * blocks instead.
 */
const freeBlocks: Float64Array<ArrayBufferLike>[] = [];

/** Returns a Float64Array of `length` values left uninitialised, which spares zeroing memory that is written next. */
function uninitialisedFloat64Array(length: number): Float64Array<ArrayBufferLike> {
  return new Float64Array(Buffer.allocUnsafeSlow(length * FLOAT8_BYTES).buffer, 0, length);
}

/**
 * Hands out views of uninitialised blocks, taken from the free blocks where it can.
 * Its views must not be read after `release`, which gives the blocks back.
 */
class Float64Arena {
  private readonly blocks: Float64Array<ArrayBufferLike>[] = [];
  private block: Float64Array<ArrayBufferLike> = EMPTY;
  private used = 0;

  take(length: number): Float64Array<ArrayBufferLike> {
    if (length > BLOCK_VALUES) {
      return uninitialisedFloat64Array(length);
    }
    if (this.used + length > this.block.length) {
      this.block = freeBlocks.pop() ?? uninitialisedFloat64Array(BLOCK_VALUES);
      this.blocks.push(this.block);
      this.used = 0;
    }

    const view = this.block.subarray(this.used, this.used + length);
    this.used += length;
    return view;
  }

  release(): void {
    for (const block of this.blocks.splice(0)) {
      if (freeBlocks.length < MAX_FREE_BLOCKS) {
        freeBlocks.push(block);
      }
    }
    this.block = EMPTY;
    this.used = 0;
  }
}

/** The buckets with samples of a series and span that the segment reads. */
interface DecodedChunk {
  /** Span start in seconds. */
  start: number;
  /** Bucket starts, in seconds. */
  dates: Float64Array<ArrayBufferLike>;
  /** Values per aggregation, aligned with `dates`; null when the aggregation was not read. */
  values: Record<Aggregation, Float64Array<ArrayBufferLike> | null>;
}

/**
 * Decodes the chunk rows of a chunked segment as they arrive, keeping the buckets with
 * samples inside the segment that each chunk covers, then adds them to a collector as
 * one run per chunk. Rows may come in any order. Decoded values stay in typed arrays
 * until the collector copies them into the response.
 */
export class ChunkReader {
  private readonly series = new Map<string, { worker: string; metric: number; chunks: Map<number, DecodedChunk> }>();
  /** Holds the dates and values decoded, until `release`. */
  private readonly arena = new Float64Arena();
  private scratch = Buffer.allocUnsafeSlow(0);
  private scratchValues = new Float64Array(0);

  constructor(
    private readonly rollup: ChunkedRollup,
    private readonly segment: Segment,
  ) {}

  /** Decodes one row's values of the buckets in the segment and in the chunk's cover. */
  add(row: ChunkRow): void {
    const key = `${row.worker}\u0000${row.metric}`;
    let series = this.series.get(key);
    if (!series) {
      series = { worker: row.worker, metric: Number(row.metric), chunks: new Map() };
      this.series.set(key, series);
    }

    const start = Number(row.start);
    const { width, span } = this.rollup;
    const end = Math.min(this.segment.to, Number(row.covered_until), start + span);
    const firstSlot = Math.max(0, Math.ceil((this.segment.from - start) / width));
    const endSlot = Math.min(this.decode(row.packed), Math.max(firstSlot, Math.ceil((end - start) / width)));

    const scratchValues = this.scratchValues;
    let present = 0;
    for (let slot = firstSlot; slot < endSlot; slot++) {
      if (scratchValues[slot] === scratchValues[slot]) {
        present++;
      }
    }

    // Every bucket has all three values or none, so the chunk's first row gives the dates of all.
    let chunk = series.chunks.get(start);
    const values = this.arena.take(present);
    if (!chunk) {
      chunk = { start, dates: this.arena.take(present), values: { avg: null, min: null, max: null } };
      series.chunks.set(start, chunk);
      copyPresent(scratchValues, firstSlot, endSlot, values, chunk.dates, start, width);
    } else {
      copyPresent(scratchValues, firstSlot, endSlot, values, null, start, width);
    }
    chunk.values[row.aggregation] = values;
  }

  /**
   * Decodes base64 of big-endian float8 values into `scratchValues` and returns their
   * count. The scratch buffer is reused from row to row.
   */
  private decode(packed: string): number {
    const maxBytes = Math.ceil((packed.length * 3) / 4 / FLOAT8_BYTES) * FLOAT8_BYTES;
    if (this.scratch.length < maxBytes) {
      // An unpooled buffer starts at offset 0 of its own memory, aligned for a Float64Array.
      this.scratch = Buffer.allocUnsafeSlow(maxBytes);
      this.scratchValues = new Float64Array(this.scratch.buffer, this.scratch.byteOffset, maxBytes / FLOAT8_BYTES);
    }

    const slots = Math.floor(this.scratch.write(packed, 0, 'base64') / FLOAT8_BYTES);
    if (SWAP_BYTES) {
      // The whole buffer, a multiple of 8 bytes: swapping the unused values past `slots` does no harm.
      this.scratch.swap64();
    }
    return slots;
  }

  /**
   * Adds each series' chunks to the collector, as runs in date order. The runs are views
   * of this reader's blocks: call `release` only once the collector finished.
   */
  appendTo(collector: SeriesCollector): void {
    for (const { worker, metric, chunks } of this.series.values()) {
      const ordered = [...chunks.values()].sort((a, b) => a.start - b.start);
      for (const { dates, values } of ordered) {
        collector.append(worker, metric, { dates, avg: values.avg ?? EMPTY, min: values.min ?? EMPTY, max: values.max ?? EMPTY });
      }
    }
  }

  /** Gives the blocks back for later readers. */
  release(): void {
    this.arena.release();
  }
}

/**
 * Copies the values of slots [firstSlot, endSlot) that are a number into `values`, and
 * when `dates` is given, the start of each one's bucket: `start + slot * width`.
 */
function copyPresent(
  decoded: Float64Array<ArrayBufferLike>,
  firstSlot: number,
  endSlot: number,
  values: Float64Array<ArrayBufferLike>,
  dates: Float64Array<ArrayBufferLike> | null,
  start: number,
  width: number,
): void {
  let out = 0;
  for (let slot = firstSlot; slot < endSlot; slot++) {
    const value = decoded[slot];
    if (value !== value) {
      continue;
    }
    values[out] = value;
    if (dates) {
      dates[out] = start + slot * width;
    }
    out++;
  }
}
