// Redo of one log record into an in-memory page map: the semantics of src/storage/redo.ts (which
// redoes into a real file) over a map, so the simulator and any in-memory store redo exactly as
// the mirror's file does. Pure: the input map is never changed, a new one is returned.
//
// The map models a database file: page n occupies bytes (n-1)·pageSize … n·pageSize-1, the file
// holds `sizePages` pages, and a page inside the file that was never written reads as zeros (a
// hole), so an absent page and an all-zero page are the same page. Page images are shared, not
// copied: records are immutable once written, and so are the images in a map.
import { RecordFlags, type PageImage, type RecordHeader } from "../log/record.js";
import { assert } from "../util/assert.js";

export interface PageMap {
  /** Written pages by page number (1-based); none beyond sizePages. */
  readonly pages: ReadonlyMap<number, Uint8Array>;
  /** The file's length in pages. */
  readonly sizePages: number;
}

export const EMPTY_PAGE_MAP: PageMap = { pages: new Map(), sizePages: 0 };

function startsFromNothing(header: RecordHeader): boolean {
  const both = RecordFlags.BASE_IMAGE | RecordFlags.FIRST;
  return (header.flags & both) === both;
}

/**
 * Applies one decoded record as redoRecord does: a base image's first chunk truncates the file to
 * nothing, every page is written (a write past the end extends the file), and a transaction's
 * LAST chunk truncates or extends the file to header.dbSizePages (a shrink must shrink the file).
 */
export function redoIntoPageMap(map: PageMap, header: RecordHeader, images: readonly PageImage[]): PageMap {
  const base = startsFromNothing(header) ? EMPTY_PAGE_MAP : map;
  const pages = new Map(base.pages);
  let sizePages = base.sizePages;
  for (const image of images) {
    assert(image.data.length === header.pageSize, `page ${image.pgno} is ${image.data.length} bytes`);
    pages.set(image.pgno, image.data);
    sizePages = Math.max(sizePages, image.pgno);
  }
  if ((header.flags & RecordFlags.LAST) === 0) return { pages, sizePages };
  return truncatePageMap({ pages, sizePages }, header.dbSizePages);
}

/** ftruncate to `sizePages` pages: pages past the end are dropped, growth leaves holes. */
export function truncatePageMap(map: PageMap, sizePages: number): PageMap {
  let pages = map.pages;
  for (const pgno of map.pages.keys()) {
    if (pgno <= sizePages) continue;
    if (pages === map.pages) pages = new Map(map.pages);
    (pages as Map<number, Uint8Array>).delete(pgno);
  }
  return { pages, sizePages };
}

/** True when every byte of the page is zero (a hole reads like this). */
function isZero(data: Uint8Array): boolean {
  for (const byte of data) if (byte !== 0) return false;
  return true;
}

function samePage(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (a === undefined) return isZero(b!);
  if (b === undefined) return isZero(a);
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/** The first page where two maps read differently (as files), or null when they are equal. */
export function firstPageDifference(a: PageMap, b: PageMap): string | null {
  if (a.sizePages !== b.sizePages) return `size ${a.sizePages} pages vs ${b.sizePages}`;
  if (a.pages === b.pages) return null;
  for (let pgno = 1; pgno <= a.sizePages; pgno++) {
    if (!samePage(a.pages.get(pgno), b.pages.get(pgno))) return `page ${pgno} differs`;
  }
  return null;
}

/** A page as the file reads it: undefined past the end, its image (or a hole: undefined) inside. */
export function pageOf(map: PageMap, pgno: number): Uint8Array | undefined {
  return pgno > map.sizePages ? undefined : map.pages.get(pgno);
}

export { samePage };
