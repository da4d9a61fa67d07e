// Package notebooks holds Rain's workshop notebooks (*.ipynb, committed with their outputs
// cleared) and the tests that execute them through real Jupyter front ends: nbclient, and the
// classic Jupyter Notebook in a headless Chromium (browser/). It has no code of its own.
package notebooks
