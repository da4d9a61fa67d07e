// Package display turns values into what front ends show: a MIME bundle for Jupyter
// (text/plain, text/html, image/svg+xml, image/png, application/json) and styled text for a
// terminal. It does no I/O.
//
// A chart (Timeline, Speedup, Sizes, CallGraph) is drawn with gonum/plot once as SVG and, for
// Jupyter only, once more as a PNG at twice its size. Its bundle's text/html is a <picture>
// whose source is the SVG and whose <img> is the PNG: a notebook shows the SVG, and an HTML
// export still shows the chart — nbconvert empties image/svg+xml (lxml's Cleaner keeps <svg>
// and drops everything inside it) and prefers it to image/png, while a sanitizer (nbconvert
// --sanitize-html, an untrusted notebook) drops <picture> and keeps the PNG's <img>.
package display
