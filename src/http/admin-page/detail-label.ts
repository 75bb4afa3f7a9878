import type { FeedDetail } from '../../config.js';

const DETAIL_LABELS: Record<FeedDetail, string> = {
  full: 'Full (everything)',
  private: 'Private (no candidate)',
  busy: 'Busy (times only)',
};

/** The detail levels as a page names them. */
export const detailLabel = (detail: FeedDetail) => DETAIL_LABELS[detail];
