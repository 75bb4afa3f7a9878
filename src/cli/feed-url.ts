import { ConfigError, FEED_DETAILS, isValidIntegrationId, loadConfig, type FeedDetail } from '../config.js';
import { createFeedTokens } from '../feeds/feed-token.js';
import { currentFeedLinks, type LinkSubject } from '../feeds/feed-links.js';
import { createFileLinkGenerationStore, createLinkGenerations } from '../feeds/link-generations.js';
import { isPlausibleEmail } from '../interviews/normalize-email.js';

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
  try {
    await generations.restore();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
  const issuer = { tokens, publicUrl: config.publicUrl, defaultDetail: config.feedDefaultDetail, links: generations };
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
  }
  if (config.demo) process.stderr.write('note: no KOMBO_API_KEY is set, so these are demo-mode links\n');
  return status;
}

process.exitCode = await main(process.argv.slice(2));
