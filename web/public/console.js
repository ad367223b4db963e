// Progressive enhancement only: every page works without this file.

// "/" moves the focus to the page's search, as in many consoles; typing in a field is left alone.
document.addEventListener('keydown', (event) => {
  if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return
  const target = event.target
  if (target instanceof HTMLElement && target.closest('input, select, textarea, [contenteditable]')) return
  const search = document.querySelector('form[role="search"] input, form[role="search"] select')
  if (search) {
    event.preventDefault()
    search.focus()
  }
})

// The Pipeline page refreshes its figures every 5 seconds while it is visible.
if (location.pathname === '/pipeline') {
  setInterval(async () => {
    if (document.hidden) return
    try {
      const res = await fetch(location.href, { headers: { accept: 'text/html' }, credentials: 'same-origin' })
      if (!res.ok) return
      const next = new DOMParser().parseFromString(await res.text(), 'text/html').querySelector('main')
      const main = document.querySelector('main')
      if (next && main && !main.contains(document.activeElement)) main.replaceChildren(...next.childNodes)
    } catch {
      // The next tick tries again.
    }
  }, 5000)
}

// Choosing a filter value on the Stock and Errors pages searches at once.
for (const select of document.querySelectorAll('form[role="search"] select')) {
  select.addEventListener('change', () => select.form?.requestSubmit())
}
