import { resolve } from 'node:path';

/** The shared sample streams: `../shared/data` beside the repo, or KLAXON_SHARED_DATA. */
export const SHARED_DATA = process.env.KLAXON_SHARED_DATA ?? resolve(import.meta.dirname, '../../../../shared/data');
