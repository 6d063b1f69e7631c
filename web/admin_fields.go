package web

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/documents"
)

// fieldListData is the field list's data.
type fieldListData struct {
	Own, System []api.AdminField
	Types       []definitions.FieldType
}

func (s *site) adminFields(c *gin.Context) {
	var list api.FieldList
	if err := s.get(c, adminAPI(c.Param("dealer"), "fields"), nil, &list); err != nil {
		s.fail(c, err)
		return
	}
	d := fieldListData{Types: fieldTypes}
	for _, f := range list.Fields {
		if f.System {
			d.System = append(d.System, f)
		} else {
			d.Own = append(d.Own, f)
		}
	}
	p := s.adminPage(c, "admin_field.list_title")
	p.Data = d
	s.render(c, http.StatusOK, "admin/fields", "", p)
}

// fieldForm is the field editor's data: the field as the form holds it, its
// type-specific settings as text, and the problems beside each input.
type fieldForm struct {
	New       bool
	System    bool
	Field     definitions.Field
	Options   string
	Accept    string
	Extras    string
	Documents []string
	Types     []definitions.FieldType
	Usage     *api.FieldUsage
	Err       map[string]string
	Rest      []problem
	// CopyErr is the copy form's problem (system fields).
	CopyErr string
}

func newFieldForm(f definitions.Field, isNew bool) *fieldForm {
	ff := &fieldForm{New: isNew, System: f.System, Field: f, Documents: documents.Templates, Types: fieldTypes, Err: map[string]string{}}
	var opts []string
	for _, o := range f.Options {
		if o.Label == "" || o.Label == o.Value {
			opts = append(opts, o.Value)
		} else {
			opts = append(opts, o.Value+" = "+o.Label)
		}
	}
	ff.Options = strings.Join(opts, "\n")
	ff.Accept = strings.Join(f.Accept, ", ")
	ff.Extras = strings.Join(f.Extras, ", ")
	return ff
}

// fieldFromForm reads the field editor's form.
func fieldFromForm(c *gin.Context, key string) (definitions.Field, *fieldForm) {
	f := definitions.Field{
		Key:       strings.TrimSpace(key),
		Type:      definitions.FieldType(c.PostForm("type")),
		Label:     strings.TrimSpace(c.PostForm("label")),
		Text:      c.PostForm("text"),
		Condition: strings.TrimSpace(c.PostForm("condition")),
	}
	switch f.Type {
	case definitions.TypeSelect:
		for _, l := range lines(c.PostForm("options")) {
			v, label, ok := strings.Cut(l, "=")
			v, label = strings.TrimSpace(v), strings.TrimSpace(label)
			if !ok {
				label = v
			}
			f.Options = append(f.Options, definitions.Option{Value: v, Label: label})
		}
	case definitions.TypeFileUpload:
		f.Accept = commaList(c.PostForm("accept"))
	case definitions.TypeDocumentView, definitions.TypeDocumentStore:
		f.Templates = c.PostFormArray("templates")
	case definitions.TypeVehicleConfig:
		f.Extras = commaList(c.PostForm("extras"))
	}
	if f.Type != definitions.TypeStaticText {
		f.Text = ""
	}
	ff := newFieldForm(f, false)
	// Keep what was typed, even lines the API refuses.
	ff.Options, ff.Accept, ff.Extras = c.PostForm("options"), c.PostForm("accept"), c.PostForm("extras")
	return f, ff
}

// fieldErrors places the API's problems of the field beside the editor's inputs.
func (ff *fieldForm) fieldErrors(ps *problems) {
	base := "fields[" + ff.Field.Key + "]"
	for _, attr := range []string{"label", "type", "text", "options", "accept", "templates", "extras", "condition", "default"} {
		if m := ps.under(base + "." + attr); m != "" {
			ff.Err[attr] = m
		}
	}
	key := strings.TrimSpace(strings.Join([]string{ps.under("key"), ps.at(base + ".key"), ps.at(base)}, " "))
	if key != "" {
		ff.Err["key"] = key
	}
	ff.Rest = ps.rest()
}

func (s *site) adminNewField(c *gin.Context) {
	t := definitions.FieldType(c.Query("type"))
	if !t.Known() {
		t = definitions.TypeText
	}
	p := s.adminPage(c, "admin_field.new_title")
	p.Data = newFieldForm(definitions.Field{Type: t}, true)
	s.render(c, http.StatusOK, "admin/field", "", p)
}

func (s *site) adminCreateField(c *gin.Context) {
	dealer := c.Param("dealer")
	f, ff := fieldFromForm(c, c.PostForm("key"))
	ff.New = true
	if !f.Type.Known() {
		f.Type = definitions.TypeText
	}
	var out api.AdminField
	err := s.send(c, http.MethodPost, adminAPI(dealer, "fields"), api.AdminField{Field: f}, &out)
	if err != nil {
		s.fieldFailed(c, err, "admin_field.new_title", ff)
		return
	}
	redirect(c, withSaved(adminPath(dealer, "fields", out.Key)))
}

func (s *site) fieldFailed(c *gin.Context, err error, title string, ff *fieldForm) {
	ae := refusal(err)
	if ae == nil {
		s.fail(c, err)
		return
	}
	p := s.adminPage(c, title)
	p.Problem = ae
	ff.fieldErrors(apiProblems(err))
	if len(ff.Err) == 0 && len(ff.Rest) == 0 {
		ff.Rest = []problem{{Message: p.FormError()}}
	}
	p.Data = ff
	s.render(c, ae.Status, "admin/field", "", p)
}

func (s *site) adminField(c *gin.Context) {
	dealer, key := c.Param("dealer"), c.Param("key")
	var f api.AdminField
	if err := s.get(c, adminAPI(dealer, "fields", key), nil, &f); err != nil {
		s.fail(c, err)
		return
	}
	ff := newFieldForm(f.Field, false)
	ff.System = f.System
	if err := s.fieldUsage(c, ff); err != nil {
		s.fail(c, err)
		return
	}
	p := s.adminPage(c, "admin_field.edit_title")
	p.Data = ff
	s.render(c, http.StatusOK, "admin/field", "", p)
}

func (s *site) fieldUsage(c *gin.Context, ff *fieldForm) error {
	var u api.FieldUsage
	if err := s.get(c, adminAPI(c.Param("dealer"), "fields", ff.Field.Key, "usage"), nil, &u); err != nil {
		return err
	}
	ff.Usage = &u
	return nil
}

func (s *site) adminSaveField(c *gin.Context) {
	dealer, key := c.Param("dealer"), c.Param("key")
	f, ff := fieldFromForm(c, key)
	err := s.send(c, http.MethodPut, adminAPI(dealer, "fields", key), api.AdminField{Field: f}, nil)
	if err != nil {
		if uerr := s.fieldUsage(c, ff); uerr != nil {
			s.fail(c, uerr)
			return
		}
		s.fieldFailed(c, err, "admin_field.edit_title", ff)
		return
	}
	redirect(c, withSaved(adminPath(dealer, "fields", key)))
}

// adminCopyField makes an own field of a system one, to adapt it.
func (s *site) adminCopyField(c *gin.Context) {
	dealer, key := c.Param("dealer"), c.Param("key")
	body := api.CopyFieldBody{Key: strings.TrimSpace(c.PostForm("new_key")), Label: strings.TrimSpace(c.PostForm("new_label"))}
	var out api.AdminField
	err := s.send(c, http.MethodPost, adminAPI(dealer, "fields", key, "copy"), body, &out)
	if err == nil {
		redirect(c, withSaved(adminPath(dealer, "fields", out.Key)))
		return
	}
	ae := refusal(err)
	if ae == nil {
		s.fail(c, err)
		return
	}
	var f api.AdminField
	if gerr := s.get(c, adminAPI(dealer, "fields", key), nil, &f); gerr != nil {
		s.fail(c, gerr)
		return
	}
	ff := newFieldForm(f.Field, false)
	ff.System = f.System
	if uerr := s.fieldUsage(c, ff); uerr != nil {
		s.fail(c, uerr)
		return
	}
	p := s.adminPage(c, "admin_field.edit_title")
	p.Problem = ae
	ps := apiProblems(err)
	ff.CopyErr = strings.TrimSpace(ps.under("key") + " " + ps.under("fields["+body.Key+"]"))
	ff.Rest = ps.rest()
	if ff.CopyErr == "" && len(ff.Rest) == 0 {
		ff.CopyErr = p.FormError()
	}
	p.Data = ff
	s.render(c, ae.Status, "admin/field", "", p)
}
