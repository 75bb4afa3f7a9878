import { ConfigError, loadConfig } from '../config.js';
import { createFeedTokens } from '../feeds/feed-token.js';
import { feedLinksFor } from '../http/routes/admin-routes.js';
import { isPlausibleEmail } from '../interviews/normalize-email.js';

/** `npm run feed-url -- ada@example.com [more…]`: prints each interviewer's feed URL and subscribe links. */
function main(argv: readonly string[]): number {
  const emails = argv.filter((arg) => !arg.startsWith('-'));
  if (emails.length === 0) {
    process.stderr.write('usage: npm run feed-url -- someone@example.com [another@example.com …]\n');
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
  const tokens = createFeedTokens(config.feedSecret);
  let status = 0;
  for (const email of emails) {
    if (!isPlausibleEmail(email)) {
      process.stderr.write(`not an email address: ${email}\n`);
      status = 2;
      continue;
    }
    const links = feedLinksFor({ tokens, integrationId: config.kombo.integrationId, publicUrl: config.publicUrl }, email);
    process.stdout.write(
      [
        `${links.email}`,
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
