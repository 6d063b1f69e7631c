package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
)

// The two views of a phase, as forms and problem paths name them.
const (
	sideStaff    = "staff"
	sideCustomer = "customer"
)

// phaseListData is the phase list's data.
type phaseListData struct {
	Own, System []api.AdminPhase
	New         definitions.Phase
	Err         map[string]string
	Rest        []problem
}

func (s *site) adminPhases(c *gin.Context) {
	s.adminShow(c, "admin/phases", "admin_phase.list_title", func(*Page) (any, error) { return s.phaseList(c) })
}

func (s *site) phaseList(c *gin.Context) (*phaseListData, error) {
	var list api.PhaseList
	if err := s.get(c, adminAPI(c.Param("dealer"), "phases"), nil, &list); err != nil {
		return nil, err
	}
	d := &phaseListData{Err: map[string]string{}}
	d.Own, d.System = splitSystem(list.Phases, func(ph api.AdminPhase) bool { return ph.System })
	return d, nil
}

func (s *site) adminCreatePhase(c *gin.Context) {
	dealer := c.Param("dealer")
	ph := definitions.Phase{Key: strings.TrimSpace(c.PostForm("key")), Name: strings.TrimSpace(c.PostForm("name"))}
	err := s.send(c, http.MethodPost, adminAPI(dealer, "phases"), api.AdminPhase{Phase: ph}, nil)
	if err == nil {
		redirect(c, withSaved(adminPath(dealer, "phases", ph.Key)))
		return
	}
	s.adminRefused(c, err, "admin/phases", "admin_phase.list_title", func(ps *problems) (any, error) {
		d, err := s.phaseList(c)
		if err != nil {
			return nil, err
		}
		base := "phases[" + ph.Key + "]"
		d.New = ph
		d.Err["name"] = ps.under(base + ".name")
		d.Err["key"] = ps.under("key", base)
		d.Rest = ps.rest()
		return d, nil
	})
}

// useRow is one field use of a phase view in the editor.
type useRow struct {
	Side  string
	Index int
	Use   definitions.FieldUse
	// Field is the used field as the catalog has it (zero when unknown).
	Field      api.AdminField
	First      bool
	Last       bool
	Err        map[string]string
	RowErr     string
	StaffOnly  bool
	FieldKnown bool
	// Flags are the use's yes/no attributes in the form's order.
	Flags []useFlag
}

// useFlag is one yes/no attribute of a field use.
type useFlag struct {
	Name string
	On   bool
	Err  string
}

// phaseForm is the phase editor's data.
type phaseForm struct {
	Phase     definitions.Phase
	System    bool
	Staff     []useRow
	Customer  []useRow
	Fields    []api.AdminField
	Messages  []api.AdminMessage
	Phases    []api.AdminPhase
	Usage     *api.PhaseUsage
	Err       map[string]string
	Rest      []problem
	CopyErr   string
	Validated string
	// Checked says a validation found nothing.
	Checked bool
}

// phaseFromForm reads the phase editor's form.
func phaseFromForm(c *gin.Context, key string) definitions.Phase {
	ph := definitions.Phase{
		Key:       key,
		Name:      strings.TrimSpace(c.PostForm("name")),
		Condition: strings.TrimSpace(c.PostForm("condition")),
		FollowUp:  c.PostForm("follow_up"),
		Turn:      definitions.Turn(c.PostForm("turn")),
		Messages:  c.PostFormArray("messages"),
	}
	ph.StaffFields = usesFromForm(c, sideStaff)
	ph.CustomerFields = usesFromForm(c, sideCustomer)
	return ph
}

func usesFromForm(c *gin.Context, side string) []definitions.FieldUse {
	n, _ := strconv.Atoi(c.PostForm(side + "_count"))
	var out []definitions.FieldUse
	for i := 0; i < n && i < 500; i++ {
		pre := fmt.Sprintf("%s.%d.", side, i)
		u := definitions.FieldUse{
			Field:           c.PostForm(pre + "field"),
			Label:           strings.TrimSpace(c.PostForm(pre + "label")),
			Required:        c.PostForm(pre+"required") != "",
			ReadOnly:        c.PostForm(pre+"read_only") != "",
			HideLabel:       c.PostForm(pre+"hide_label") != "",
			ShowAfterSubmit: c.PostForm(pre+"show_after_submit") != "",
			Condition:       strings.TrimSpace(c.PostForm(pre + "condition")),
		}
		if u.Field != "" {
			out = append(out, u)
		}
	}
	return out
}

// applyUseAction applies an editing button of the form (add:customer, up:staff:2,
// down:..., remove:...) to the phase; false when the action is none of those.
func applyUseAction(c *gin.Context, ph *definitions.Phase, action string) bool {
	parts := strings.Split(action, ":")
	if len(parts) < 2 {
		return false
	}
	list := &ph.StaffFields
	switch parts[1] {
	case sideStaff:
	case sideCustomer:
		list = &ph.CustomerFields
	default:
		return false
	}
	if parts[0] == "add" {
		key := c.PostForm("add_" + parts[1])
		if key == "" {
			return true
		}
		*list = append(*list, definitions.FieldUse{Field: key, Required: c.PostForm("add_"+parts[1]+"_required") != ""})
		return true
	}
	if len(parts) != 3 {
		return false
	}
	i, err := strconv.Atoi(parts[2])
	if err != nil || i < 0 || i >= len(*list) {
		return true
	}
	switch parts[0] {
	case "up":
		if i > 0 {
			(*list)[i-1], (*list)[i] = (*list)[i], (*list)[i-1]
		}
	case "down":
		if i+1 < len(*list) {
			(*list)[i+1], (*list)[i] = (*list)[i], (*list)[i+1]
		}
	case "remove":
		*list = slices.Delete(*list, i, i+1)
	default:
		return false
	}
	return true
}

// phaseForm builds the editor's data for ph, placing the problems beside its inputs.
func (s *site) phaseForm(c *gin.Context, ph definitions.Phase, system bool, ps *problems) (*phaseForm, error) {
	dealer := c.Param("dealer")
	var fields api.FieldList
	var msgs api.MessageList
	var phases api.PhaseList
	var usage api.PhaseUsage
	if err := s.get(c, adminAPI(dealer, "fields"), nil, &fields); err != nil {
		return nil, err
	}
	if err := s.get(c, adminAPI(dealer, "messages"), nil, &msgs); err != nil {
		return nil, err
	}
	if err := s.get(c, adminAPI(dealer, "phases"), nil, &phases); err != nil {
		return nil, err
	}
	if err := s.get(c, adminAPI(dealer, "phases", ph.Key, "usage"), nil, &usage); err != nil {
		return nil, err
	}
	byKey := map[string]api.AdminField{}
	for _, f := range fields.Fields {
		byKey[f.Key] = f
	}
	pf := &phaseForm{Phase: ph, System: system, Fields: fields.Fields, Messages: msgs.Messages, Phases: phases.Phases,
		Usage: &usage, Err: map[string]string{}}
	base := "phases[" + ph.Key + "]"
	rows := func(side string, uses []definitions.FieldUse) []useRow {
		var out []useRow
		for i, u := range uses {
			f, known := byKey[u.Field]
			r := useRow{Side: side, Index: i, Use: u, Field: f, FieldKnown: known, First: i == 0, Last: i == len(uses)-1,
				Err: map[string]string{}, StaffOnly: f.Type.StaffOnly()}
			path := fmt.Sprintf("%s.%s_fields[%d]", base, side, i)
			for _, attr := range []string{"label", "required", "read_only", "hide_label", "show_after_submit", "condition"} {
				if m := ps.under(path + "." + attr); m != "" {
					r.Err[attr] = m
				}
			}
			for _, fl := range []useFlag{{"required", u.Required, ""}, {"read_only", u.ReadOnly, ""}, {"hide_label", u.HideLabel, ""},
				{"show_after_submit", u.ShowAfterSubmit, ""}} {
				fl.Err = r.Err[fl.Name]
				r.Flags = append(r.Flags, fl)
			}
			r.RowErr = ps.under(path)
			out = append(out, r)
		}
		return out
	}
	pf.Staff = rows(sideStaff, ph.StaffFields)
	pf.Customer = rows(sideCustomer, ph.CustomerFields)
	for _, attr := range []string{"name", "condition", "follow_up", "turn", "messages", "staff_fields", "customer_fields"} {
		if m := ps.under(base + "." + attr); m != "" {
			pf.Err[attr] = m
		}
	}
	if m := joinText(ps.under("key"), ps.at(base)); m != "" {
		pf.Err["key"] = m
	}
	pf.Rest = ps.rest()
	return pf, nil
}

// savedPhaseForm is the editor of the saved phase key with the problems ps.
func (s *site) savedPhaseForm(c *gin.Context, key string, ps *problems) (*phaseForm, error) {
	var ph api.AdminPhase
	if err := s.get(c, adminAPI(c.Param("dealer"), "phases", key), nil, &ph); err != nil {
		return nil, err
	}
	return s.phaseForm(c, ph.Phase, ph.System, ps)
}

func (s *site) adminPhase(c *gin.Context) {
	s.adminShow(c, "admin/phase", "admin_phase.edit_title", func(*Page) (any, error) {
		return s.savedPhaseForm(c, c.Param("key"), nil)
	})
}

func (s *site) adminSavePhase(c *gin.Context) {
	dealer, key := c.Param("dealer"), c.Param("key")
	ph := phaseFromForm(c, key)
	action := c.PostForm("action")
	if action == "validate" {
		s.validatePhase(c, ph)
		return
	}
	applyUseAction(c, &ph, action)
	err := s.send(c, http.MethodPut, adminAPI(dealer, "phases", key), api.AdminPhase{Phase: ph}, nil)
	if err == nil {
		to := withSaved(adminPath(dealer, "phases", key))
		if side := strings.Split(action, ":"); len(side) > 1 {
			to += "#" + side[1] + "-fields"
		}
		redirect(c, to)
		return
	}
	s.adminRefused(c, err, "admin/phase", "admin_phase.edit_title", func(ps *problems) (any, error) {
		return s.phaseForm(c, ph, false, ps)
	})
}

// validatePhase checks the phase as the form has it, unsaved, within a workflow that
// uses it (else the active one): what saving would be refused for, and what would keep
// the workflow from being published.
func (s *site) validatePhase(c *gin.Context, ph definitions.Phase) {
	dealer := c.Param("dealer")
	var usage api.PhaseUsage
	if err := s.get(c, adminAPI(dealer, "phases", ph.Key, "usage"), nil, &usage); err != nil {
		s.fail(c, err)
		return
	}
	wf := ""
	if len(usage.Workflows) > 0 {
		wf = usage.Workflows[0].Key
	} else {
		var active api.PublishedRef
		if err := s.get(c, adminAPI(dealer, "active-workflow"), nil, &active); err == nil {
			wf = active.Workflow
		}
	}
	ps := &problems{}
	if wf != "" {
		var w api.AdminWorkflow
		if err := s.get(c, adminAPI(dealer, "workflows", wf), nil, &w); err != nil {
			s.fail(c, err)
			return
		}
		var v api.Validation
		if err := s.send(c, http.MethodPost, adminAPI(dealer, "workflows", wf, "validate"), api.ValidateBody{Phases: []definitions.Phase{ph}}, &v); err != nil {
			s.fail(c, err)
			return
		}
		ps = validationProblems(v, w.Workflow)
	}
	pf, err := s.phaseForm(c, ph, false, ps)
	if err != nil {
		s.fail(c, err)
		return
	}
	pf.Validated = wf
	pf.Checked = ps.empty()
	p := s.adminPage(c, "admin_phase.edit_title")
	if pf.Checked {
		p.Notice = p.T("admin.valid")
	}
	p.Data = pf
	s.render(c, http.StatusOK, "admin/phase", "", p)
}

// validationProblems are a validation's problems at catalog paths by key.
func validationProblems(v api.Validation, wf definitions.Workflow) *problems {
	ps := &problems{}
	for _, pr := range v.CatalogProblems {
		ps.add(pr.Path, pr.Message)
	}
	for _, pr := range v.Problems {
		ps.add(catalogPath(pr.Path, wf.Key, wf.Phases), pr.Message)
	}
	return ps
}

// adminCopyPhase makes an own phase of another one, to adapt it.
func (s *site) adminCopyPhase(c *gin.Context) {
	dealer, key := c.Param("dealer"), c.Param("key")
	body := api.CopyPhaseBody{Key: strings.TrimSpace(c.PostForm("new_key")), Name: strings.TrimSpace(c.PostForm("new_name"))}
	err := s.send(c, http.MethodPost, adminAPI(dealer, "phases", key, "copy"), body, nil)
	if err == nil {
		redirect(c, withSaved(adminPath(dealer, "phases", body.Key)))
		return
	}
	s.adminRefused(c, err, "admin/phase", "admin_phase.edit_title", func(ps *problems) (any, error) {
		copyErr := joinText(ps.under("key", "phases["+body.Key+"]"), ps.at(""))
		pf, err := s.savedPhaseForm(c, key, ps)
		if err != nil {
			return nil, err
		}
		pf.CopyErr = copyErr
		return pf, nil
	})
}
