import { ConfigError, isValidIntegrationId, loadConfig } from '../config.js';
import { createFeedTokens } from '../feeds/feed-token.js';
import { feedLinksFor } from '../http/routes/admin-routes.js';
import { isPlausibleEmail } from '../interviews/normalize-email.js';

const USAGE = 'usage: npm run feed-url -- [--integration ID] someone@example.com [another@example.com …]\n';

/**
 * `npm run feed-url -- [--integration ID] ada@example.com [more…]`: prints each interviewer's feed URL and subscribe
 * links. The integration may be left out while the configuration names exactly one.
 */
function main(argv: readonly string[]): number {
  const emails: string[] = [];
  let integration: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--integration' || arg.startsWith('--integration=')) {
      integration = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (!integration) {
        process.stderr.write(USAGE);
        return 2;
      }
    } else if (!arg.startsWith('-')) emails.push(arg);
  }
  if (emails.length === 0) {
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
  let status = 0;
  for (const email of emails) {
    if (!isPlausibleEmail(email)) {
      process.stderr.write(`not an email address: ${email}\n`);
      status = 2;
      continue;
    }
    const links = feedLinksFor({ tokens, publicUrl: config.publicUrl }, integration, email);
    process.stdout.write(
      [
        `${links.email}`,
        `  integration:     ${links.integration}`,
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

process.exitCode = main(process.argv.slice(2));
