// Package protocol holds the Jupyter messaging protocol's wire format: the frames of a
// message, their HMAC signature, the header, the connection file, and the content of each
// message type the Rain kernel sends or receives. It does no I/O: package kernel moves the
// frames over ZeroMQ.
//
// A message on the wire is a list of frames:
//
//	[identities...] "<IDS|MSG>" signature header parent_header metadata content [buffers...]
//
// The signature is the hex HMAC of the four JSON frames that follow it, keyed by the
// connection file's key (no signature when the key is empty).
package protocol
