package display

// Bundle maps a MIME type to its data: a string for text types and, base64, for images;
// any JSON value for application/json. text/plain is always present.
type Bundle map[string]any

// Plain is a bundle holding only text/plain.
func Plain(s string) Bundle { return Bundle{"text/plain": s} }

// Text is the bundle's text/plain, or "".
func (b Bundle) Text() string {
	s, _ := b["text/plain"].(string)
	return s
}
