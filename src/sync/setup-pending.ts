import { KomboError } from '../kombo/kombo-error.js';

/** Kombo's answers while a customer has not finished connecting their ATS: not a failure of ours, nor theirs yet. */
export const SETUP_PENDING_CODES: ReadonlySet<string> = new Set(['INTEGRATION.SETUP_SYNC_PENDING', 'INTEGRATION.SETUP_INCOMPLETE']);

/** Whether `error` is Kombo saying the integration is still being set up (see {@link SETUP_PENDING_CODES}). */
export function isSetupPending(error: unknown): error is KomboError & { code: string } {
  return error instanceof KomboError && error.code !== undefined && SETUP_PENDING_CODES.has(error.code);
}
