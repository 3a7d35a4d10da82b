"""The page's stylesheet and its one script: citation clicks, "open document" links, and
backend choices marked unavailable made unclickable.

The script listens at the document level (capture phase), so it works for answers and
sources rendered after load: a click on an answer's `[n]` opens and highlights source `n` of
that answer; a click on "Open document" asks the server for the whole document through a
hidden textbox and button (Gradio's only way in from page script).
"""

PAGE_SCRIPT = """
<script>
(() => {
  function showSource(id) {
    const card = document.getElementById(id);
    if (!card) return;
    document.querySelectorAll('.kb-source.kb-active').forEach((el) => el.classList.remove('kb-active'));
    card.open = true;
    card.classList.add('kb-active');
    card.scrollIntoView({block: 'nearest', behavior: 'smooth'});
  }
  function openDocument(key) {
    const box = document.querySelector('#kb-open-key textarea, #kb-open-key input');
    const button = document.getElementById('kb-open-button');
    if (!box || !button) return;
    box.value = key;
    box.dispatchEvent(new Event('input', {bubbles: true}));
    setTimeout(() => button.click(), 50);
  }
  // Backends that cannot be used are listed with the reason, and cannot be picked.
  function disableUnavailable() {
    document.querySelectorAll('#kb-backend label').forEach((label) => {
      const input = label.querySelector('input[type=radio]');
      if (input && !input.disabled && label.innerText.includes('(unavailable:')) {
        input.disabled = true;
        label.classList.add('kb-disabled');
      }
    });
  }
  let pending = false;
  new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; disableUnavailable(); });
  }).observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener('click', (event) => {
    const cite = event.target.closest('a[href^="#kb-src-"]');
    if (cite) {
      event.preventDefault();
      event.stopPropagation();
      showSource(cite.getAttribute('href').slice(1));
      return;
    }
    const open = event.target.closest('a.kb-open');
    if (open) {
      event.preventDefault();
      openDocument(open.dataset.key);
    }
  }, true);
})();
</script>
"""

PAGE_CSS = """
.kb-hidden { display: none !important; }
.kb-disabled { opacity: 0.55; cursor: not-allowed; }
#kb-status { font-size: 0.9em; opacity: 0.85; }
.kb-turn h4 { margin: 0.8em 0 0.3em; }
.kb-source { border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 0.4em 0.6em; margin: 0.3em 0; }
.kb-source.kb-active { border-color: var(--color-accent); box-shadow: 0 0 0 2px var(--color-accent-soft); }
.kb-source summary { cursor: pointer; }
.kb-where, .kb-score { display: block; font-size: 0.85em; opacity: 0.75; }
.kb-passage { white-space: pre-wrap; margin: 0.4em 0; font-size: 0.92em; }
mark.kb-evidence, #kb-doc-mark { background: #ffe58a; color: inherit; padding: 0 1px; }
.kb-document-text { white-space: pre-wrap; max-height: 420px; overflow-y: auto;
  border: 1px solid var(--border-color-primary); padding: 0.5em; font-size: 0.9em; }
.kb-empty { opacity: 0.7; font-style: italic; }
"""
