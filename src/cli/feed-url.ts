import { ConfigError, FEED_DETAILS, isValidIntegrationId, loadConfig, type FeedDetail } from '../config.js';
import { createFeedTokens } from '../feeds/feed-token.js';
import { currentFeedLinks, type LinkSubject } from '../feeds/feed-links.js';
import { createFileLinkGenerationStore, createLinkGenerations } from '../feeds/link-generations.js';
import { isPlausibleEmail, normalizeEmail } from '../interviews/normalize-email.js';
import { loadEnvFile } from '../load-env-file.js';
import { readSavedState, type SavedState } from './read-saved-state.js';

const USAGE =
  'usage: npm run feed-url -- [--integration ID] [--detail full|private|busy] someone@example.com [another@example.com …]\n' +
  '       npm run feed-url -- [--integration ID] [--detail …] --job JOB_ID | --all\n';

/**
 * `npm run feed-url -- [--integration ID] [--detail LEVEL] ada@example.com [more…]` (or `--job JOB_ID`, `--all` for
 * a team feed): prints each feed URL and its subscribe links. The integration may be left out while the configuration
 * names exactly one.
 */
async function main(argv: readonly string[]): Promise<number> {
  const subjects: LinkSubject[] = [];
  let integration: string | undefined;
  let detail: FeedDetail | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const option = /^--(integration|detail|job)(?:=(.*))?$/.exec(arg);
    if (option) {
      const value = option[2] ?? argv[++i];
      if (!value) {
        process.stderr.write(USAGE);
        return 2;
      }
      if (option[1] === 'integration') integration = value;
      else if (option[1] === 'job') subjects.push({ team: { job: value } });
      else if (FEED_DETAILS.includes(value as FeedDetail)) detail = value as FeedDetail;
      else {
        process.stderr.write(`--detail must be one of ${FEED_DETAILS.join(', ')}\n`);
        return 2;
      }
    } else if (arg === '--all') subjects.push({ team: 'all' });
    else if (!arg.startsWith('-')) subjects.push({ email: arg });
  }
  if (subjects.length === 0) {
    process.stderr.write(USAGE);
    return 2;
  }
  let config;
  try {
    loadEnvFile(); // the settings `npm start` reads, so the links are the service's
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) process.stderr.write(`config error: ${problem}\n`);
    return 1;
  }
  const configured = config.kombo.integrationIds;
  if (integration === undefined) {
    // Demo mode serves two companies; its first is the one demo links always named.
    if (configured.length !== 1 && !config.demo) {
      process.stderr.write(`name the integration with --integration ID (the configuration names ${configured.length === 0 ? 'none' : configured.join(', ')})\n`);
      return 2;
    }
    integration = configured[0]!;
  }
  if (!isValidIntegrationId(integration)) {
    process.stderr.write(`not an integration id: ${JSON.stringify(integration.slice(0, 60))}\n`);
    return 2;
  }
  const tokens = createFeedTokens(config.feedSecret);
  // A revoked link's replacement, as the service hands it out (revocations live under DATA_DIR).
  const generations = createLinkGenerations(createFileLinkGenerationStore(config.dataDir));
  let saved: SavedState;
  try {
    await generations.restore();
    saved = await readSavedState(config);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
  const issuer = { tokens, publicUrl: config.publicUrl, defaultDetail: config.feedDefaultDetail, links: generations };
  // A link of an integration the service does not serve answers 404: printing it would hand out a dead link.
  const unserved = saved.whyUnserved(integration);
  if (unserved?.fatal) {
    process.stderr.write(`${unserved.message}\n`);
    return 2;
  }
  if (unserved) process.stderr.write(`${unserved.message}\n`);
  let status = 0;
  for (const subject of subjects) {
    if (subject.email !== undefined && !isPlausibleEmail(subject.email)) {
      process.stderr.write(`not an email address: ${subject.email}\n`);
      status = 2;
      continue;
    }
    if (subject.team !== undefined && subject.team !== 'all' && !isValidIntegrationId(subject.team.job)) {
      process.stderr.write(`not a job id: ${JSON.stringify(subject.team.job.slice(0, 60))}\n`);
      status = 2;
      continue;
    }
    const links = currentFeedLinks(issuer, integration, subject, detail);
    const heading = 'email' in links ? links.email : typeof links.team === 'string' ? 'every interview' : `job ${links.team.job}`;
    process.stdout.write(
      [
        heading,
        `  integration:     ${links.integration}`,
        ...(detail !== undefined ? [`  detail:          ${detail}`] : []),
        `  feed URL:        ${links.url}`,
        `  Apple/webcal:    ${links.webcalUrl}`,
        `  Google Calendar: ${links.googleUrl}`,
        `  Outlook (M365):  ${links.outlookUrl}`,
        `  Outlook.com:     ${links.outlookComUrl}`,
        '',
      ].join('\n'),
    );
    // A misspelled email gets a working link to a calendar that stays empty: say so, and print it all the same (they
    // may simply have no interview yet).
    if (subject.email !== undefined && (await saved.interviewsOf(integration, subject.email)) === 0) {
      process.stderr.write(
        `warning: ${normalizeEmail(subject.email)} is on no interview in the last saved snapshot of ${integration} (${await saved.syncedAt(integration)}): ` +
          'check the spelling; the link works, and its calendar stays empty until the ATS lists them on an interview\n',
      );
    }
  }
  if (config.demo) process.stderr.write('note: no KOMBO_API_KEY is set, so these are demo-mode links\n');
  return status;
}

process.exitCode = await main(process.argv.slice(2));
