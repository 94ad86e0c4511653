// The explorer's time slider (X2): moving it fetches the page at that instant and swaps
// its content in; the user, span and pipeline selects reload the page.
(() => {
  const form = document.getElementById('controls');
  const slider = document.getElementById('slider');
  const label = document.getElementById('now-label');
  const atField = document.getElementById('at');
  const zone = slider.dataset.zone;
  let format;
  try {
    format = new Intl.DateTimeFormat('en-GB', {timeZone: zone, weekday: 'short', year: 'numeric',
      month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'});
  } catch (error) {  // a zone this browser does not know: show UTC
    format = null;
  }
  // The same text as the server's: "Mon 2026-12-14 10:00 Europe/Warsaw".
  const local = (at) => {
    if (!format) { return at.toISOString().slice(0, 16).replace('T', ' ') + ' UTC'; }
    const part = Object.fromEntries(format.formatToParts(at).map((p) => [p.type, p.value]));
    return `${part.weekday} ${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute} ${zone}`;
  };
  const instant = () => new Date(Number(slider.dataset.startMs)
    + Number(slider.value) * Number(slider.dataset.stepMs));
  const query = () => new URLSearchParams(new FormData(form)).toString();
  let latest = 0;
  async function redraw() {
    const ticket = ++latest;
    const at = instant();
    atField.value = at.toISOString().replace('.000Z', 'Z');
    label.textContent = local(at);
    const search = '?' + query();
    let response, html;
    try {
      response = await fetch('content' + search, {headers: {'Accept': 'text/html'}});
      html = await response.text();
    } catch (error) {
      if (ticket === latest) { label.textContent += ' (the explorer is not running)'; }
      return;
    }
    if (ticket !== latest) { return; }  // a later move is on its way: drop this answer
    const fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('content');
    if (!response.ok || !fresh) { label.textContent += ' (refused)'; return; }
    document.getElementById('content').replaceWith(fresh);
    history.replaceState(null, '', search + location.hash);
  }
  slider.addEventListener('input', () => {
    label.textContent = local(instant());
  });
  slider.addEventListener('change', redraw);
  for (const select of document.querySelectorAll('#user, #span')) {
    select.addEventListener('change', () => {
      if (select.id === 'user') { form.elements.item.value = ''; }
      form.submit();
    });
  }
  document.addEventListener('change', (event) => {
    if (event.target && event.target.id === 'pipeline') { event.target.form.submit(); }
  });
})();
