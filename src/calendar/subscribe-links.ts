/** Every way to hand an interviewer their feed, one click each where the client allows it. */
export interface SubscribeLinks {
  /** The feed itself: paste into any client's "subscribe from URL". */
  url: string;
  /** Opens Apple Calendar, Outlook for Mac or Thunderbird straight on the subscription dialog. */
  webcalUrl: string;
  /** Google Calendar's add-by-URL page, pre-filled. */
  googleUrl: string;
  /** Outlook on the web for Microsoft 365 (work accounts). */
  outlookUrl: string;
  /** Outlook.com (personal accounts). */
  outlookComUrl: string;
}

/** Builds the subscribe links for a feed URL; `name` is the calendar name Outlook pre-fills. */
export function subscribeLinks(url: string, name: string): SubscribeLinks {
  const webcalUrl = url.replace(/^https?:\/\//, 'webcal://');
  const outlookQuery = `url=${encodeURIComponent(url)}&name=${encodeURIComponent(name)}`;
  return {
    url,
    webcalUrl,
    googleUrl: `https://calendar.google.com/calendar/r?cid=${encodeURIComponent(webcalUrl)}`,
    outlookUrl: `https://outlook.office.com/calendar/0/addfromweb?${outlookQuery}`,
    outlookComUrl: `https://outlook.live.com/calendar/0/addfromweb?${outlookQuery}`,
  };
}
