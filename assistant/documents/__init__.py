"""The documents behind kb: `catalog` (list, match and remove what the index holds), `library`
(a running page's documents: uploads, removal, re-index, sync) and `watching` (folders kept in
sync with the index)."""
