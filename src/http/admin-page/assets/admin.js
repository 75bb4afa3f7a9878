// The admin page's only script (the CSP allows no inline one): copy a link, follow a detail level, confirm a form.
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
