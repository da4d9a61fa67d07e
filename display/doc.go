// Package display turns values into what front ends show: a MIME bundle for Jupyter
// (text/plain, text/html, image/png, image/svg+xml, application/json) and styled text for a
// terminal. It does no I/O.
package display
