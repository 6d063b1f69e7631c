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
	s.adminShow(c, "admin/fields", "admin_field.list_title", func(*Page) (any, error) {
		var list api.FieldList
		if err := s.get(c, adminAPI(c.Param("dealer"), "fields"), nil, &list); err != nil {
			return nil, err
		}
		d := fieldListData{Types: fieldTypes}
		d.Own, d.System = splitSystem(list.Fields, func(f api.AdminField) bool { return f.System })
		return d, nil
	})
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
	if key := joinText(ps.under("key"), ps.at(base+".key", base)); key != "" {
		ff.Err["key"] = key
	}
	ff.Rest = ps.rest()
}

// savedField is the editor of the dealer's field key as the API has it now, with its usage.
func (s *site) savedField(c *gin.Context, key string) (*fieldForm, error) {
	var f api.AdminField
	if err := s.get(c, adminAPI(c.Param("dealer"), "fields", key), nil, &f); err != nil {
		return nil, err
	}
	ff := newFieldForm(f.Field, false)
	ff.System = f.System
	return ff, s.fieldUsage(c, ff)
}

func (s *site) adminNewField(c *gin.Context) {
	t := definitions.FieldType(c.Query("type"))
	if !t.Known() {
		t = definitions.TypeText
	}
	s.adminShow(c, "admin/field", "admin_field.new_title", func(*Page) (any, error) {
		return newFieldForm(definitions.Field{Type: t}, true), nil
	})
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
		s.adminRefused(c, err, "admin/field", "admin_field.new_title", func(ps *problems) (any, error) {
			ff.fieldErrors(ps)
			return ff, nil
		})
		return
	}
	redirect(c, withSaved(adminPath(dealer, "fields", out.Key)))
}

func (s *site) adminField(c *gin.Context) {
	s.adminShow(c, "admin/field", "admin_field.edit_title", func(*Page) (any, error) { return s.savedField(c, c.Param("key")) })
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
		s.adminRefused(c, err, "admin/field", "admin_field.edit_title", func(ps *problems) (any, error) {
			ff.fieldErrors(ps)
			return ff, s.fieldUsage(c, ff)
		})
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
	s.adminRefused(c, err, "admin/field", "admin_field.edit_title", func(ps *problems) (any, error) {
		ff, err := s.savedField(c, key)
		if err != nil {
			return nil, err
		}
		ff.CopyErr = joinText(ps.under("key", "fields["+body.Key+"]"), ps.at(""))
		ff.Rest = ps.rest()
		return ff, nil
	})
}
