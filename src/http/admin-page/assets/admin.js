// The pages' only script (the CSP allows no inline one): copy a link, follow a detail level, confirm a form, show times locally.
'use strict';

document.addEventListener('click', async (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-copy]') : null;
  if (!button) return;
  const text = button.getAttribute('data-copy');
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    window.prompt('Copy this link:', text);
  }
  setTimeout(() => { button.textContent = 'Copy link'; }, 2000);
});

document.addEventListener('change', (event) => {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement) || !select.hasAttribute('data-detail')) return;
  const option = select.selectedOptions[0];
  const row = select.closest('[data-row]');
  if (!option || !row) return;
  row.querySelector('button[data-copy]').setAttribute('data-copy', option.dataset.url);
  for (const link of row.querySelectorAll('a[data-link]')) link.href = option.dataset[link.dataset.link];
  row.querySelector('img[data-qr]').src = option.dataset.qr;
});

document.addEventListener('submit', (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

// Times are written in UTC (<time datetime="…Z">, readable without this script); each viewer sees them in their own
// time zone, the UTC text kept as the tooltip.
const localTime = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
for (const time of document.querySelectorAll('time[datetime]')) {
  const date = new Date(time.getAttribute('datetime'));
  if (Number.isNaN(date.getTime())) continue;
  time.title = time.textContent;
  time.textContent = localTime.format(date);
}
