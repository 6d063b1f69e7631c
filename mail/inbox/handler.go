package inbox

import (
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strconv"
)

// Handler serves the inbox: an HTML page at / listing the messages (newest first),
// /{id} showing one, and JSON for tests and scripts at /messages and /messages/{id};
// /messages/{id}/raw is the message as received, /messages/{id}/attachments/{n} an
// attachment; DELETE /messages empties the inbox. Mount it with http.StripPrefix.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		msgs := s.Messages()
		slices.Reverse(msgs)
		render(w, listPage, msgs)
	})
	mux.HandleFunc("GET /{id}", func(w http.ResponseWriter, r *http.Request) {
		if m, ok := s.lookup(w, r); ok {
			render(w, messagePage, m)
		}
	})
	mux.HandleFunc("GET /messages", func(w http.ResponseWriter, r *http.Request) {
		msgs := s.Messages()
		if msgs == nil {
			msgs = []Message{}
		}
		writeJSON(w, msgs)
	})
	mux.HandleFunc("DELETE /messages", func(w http.ResponseWriter, r *http.Request) {
		s.Clear()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		if m, ok := s.lookup(w, r); ok {
			writeJSON(w, m)
		}
	})
	mux.HandleFunc("GET /messages/{id}/raw", func(w http.ResponseWriter, r *http.Request) {
		if m, ok := s.lookup(w, r); ok {
			w.Header().Set("Content-Type", "message/rfc822")
			_, _ = w.Write(m.Raw)
		}
	})
	mux.HandleFunc("GET /messages/{id}/attachments/{n}", func(w http.ResponseWriter, r *http.Request) {
		m, ok := s.lookup(w, r)
		if !ok {
			return
		}
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil || n < 0 || n >= len(m.Attachments) {
			http.Error(w, "no such attachment", http.StatusNotFound)
			return
		}
		a := m.Attachments[n]
		w.Header().Set("Content-Type", a.ContentType)
		w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+urlEscape(a.Filename))
		_, _ = w.Write(a.Data)
	})
	return mux
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (Message, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		http.Error(w, "message id must be a number", http.StatusBadRequest)
		return Message{}, false
	}
	m, ok := s.Message(id)
	if !ok {
		http.Error(w, "no such message", http.StatusNotFound)
	}
	return m, ok
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func render(w http.ResponseWriter, t *template.Template, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := t.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func urlEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '.' || c == '-' || c == '_' {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return string(b)
}

const style = `<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:.3em .6em;border-bottom:1px solid #ddd}pre{white-space:pre-wrap;background:#f6f6f6;padding:1em}
iframe{width:100%;height:30em;border:1px solid #ccc}</style>`

var listPage = template.Must(template.New("list").Parse(`<!doctype html><html lang="de"><head><meta charset="utf-8">
<title>Dev-Posteingang</title>` + style + `</head><body>
<h1>Dev-Posteingang</h1>
<p>Jede E-Mail, die Jobmanager hier verschickt, landet in diesem Posteingang und nirgends sonst.
<a href="messages">JSON</a></p>
{{if .}}<table><tr><th>#</th><th>Empfangen</th><th>An</th><th>Betreff</th><th>Anhänge</th></tr>
{{range .}}<tr><td>{{.ID}}</td><td>{{.ReceivedAt.Format "02.01.2006 15:04:05"}}</td><td>{{range $i, $t := .To}}{{if $i}}, {{end}}{{$t}}{{end}}</td>
<td><a href="{{.ID}}">{{.Subject}}</a></td><td>{{len .Attachments}}</td></tr>
{{end}}</table>{{else}}<p>Noch keine E-Mails.</p>{{end}}
</body></html>`))

var messagePage = template.Must(template.New("message").Parse(`<!doctype html><html lang="de"><head><meta charset="utf-8">
<title>{{.Subject}}</title>` + style + `</head><body>
<p><a href="./">← Posteingang</a></p>
<h1>{{.Subject}}</h1>
<table>
<tr><th>Von</th><td>{{.HeaderFrom}} (Umschlag: {{.From}})</td></tr>
<tr><th>An</th><td>{{.HeaderTo}} (Umschlag: {{range $i, $t := .To}}{{if $i}}, {{end}}{{$t}}{{end}})</td></tr>
<tr><th>Message-ID</th><td>{{.MessageID}}</td></tr>
<tr><th>Empfangen</th><td>{{.ReceivedAt.Format "02.01.2006 15:04:05"}}</td></tr>
{{range $i, $a := .Attachments}}<tr><th>Anhang</th><td><a href="messages/{{$.ID}}/attachments/{{$i}}">{{$a.Filename}}</a> ({{$a.ContentType}}, {{$a.Size}} Bytes)</td></tr>{{end}}
</table>
{{if .ParseError}}<p>Nicht lesbar: {{.ParseError}}</p>{{end}}
{{if .HTML}}<h2>HTML</h2><iframe sandbox srcdoc="{{.HTML}}"></iframe>{{end}}
<h2>Text</h2><pre>{{.Text}}</pre>
<p><a href="messages/{{.ID}}/raw">Quelltext</a></p>
</body></html>`))
