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

// workflowListData is the workflow list's data with its two forms: copy a standard
// workflow and start an empty one.
type workflowListData struct {
	Own, System []api.AdminWorkflow
	Active      string
	Standards   []string
	Copy        api.CopyStandardBody
	CopyErr     map[string]string
	New         definitions.Workflow
	NewErr      map[string]string
	// Phases are the catalog's phases, for the empty workflow's first phase.
	Phases []api.AdminPhase
	Rest   []problem
}

func (s *site) workflowList(c *gin.Context) (*workflowListData, error) {
	dealer := c.Param("dealer")
	var list api.WorkflowList
	if err := s.get(c, adminAPI(dealer, "workflows"), nil, &list); err != nil {
		return nil, err
	}
	d := &workflowListData{Standards: []string{definitions.StandardMaster, definitions.StandardBasic},
		Copy: api.CopyStandardBody{From: definitions.StandardMaster, CopyPhases: true}, CopyErr: map[string]string{}, NewErr: map[string]string{}}
	d.Own, d.System = splitSystem(list.Workflows, func(w api.AdminWorkflow) bool { return w.System })
	var phases api.PhaseList
	if err := s.get(c, adminAPI(dealer, "phases"), nil, &phases); err != nil {
		return nil, err
	}
	d.Phases = phases.Phases
	var active api.PublishedRef
	err := s.get(c, adminAPI(dealer, "active-workflow"), nil, &active)
	if ae, ok := asProblem(err); ok && ae.Status == http.StatusNotFound {
		err = nil
	}
	d.Active = active.Workflow
	return d, err
}

func (s *site) adminWorkflows(c *gin.Context) {
	s.adminShow(c, "admin/workflows", "admin_wf.list_title", func(*Page) (any, error) { return s.workflowList(c) })
}

func (s *site) workflowListFailed(c *gin.Context, err error, fill func(*workflowListData, *problems)) {
	s.adminRefused(c, err, "admin/workflows", "admin_wf.list_title", func(ps *problems) (any, error) {
		d, err := s.workflowList(c)
		if err != nil {
			return nil, err
		}
		fill(d, ps)
		d.Rest = ps.rest()
		return d, nil
	})
}

func (s *site) adminCopyStandard(c *gin.Context) {
	dealer := c.Param("dealer")
	body := api.CopyStandardBody{From: c.PostForm("from"), Key: strings.TrimSpace(c.PostForm("key")),
		Name: strings.TrimSpace(c.PostForm("name")), CopyPhases: c.PostForm("copy_phases") != ""}
	var out api.WorkflowCopy
	err := s.send(c, http.MethodPost, adminAPI(dealer, "workflows", "copy-standard"), body, &out)
	if err == nil {
		redirect(c, withSaved(adminPath(dealer, "workflows", out.Workflow.Key)))
		return
	}
	s.workflowListFailed(c, err, func(d *workflowListData, ps *problems) {
		d.Copy = body
		d.CopyErr["from"] = ps.under("from")
		d.CopyErr["name"] = ps.under("workflows[" + body.Key + "].name")
		d.CopyErr["key"] = ps.under("key", "workflows["+body.Key+"]")
	})
}

func (s *site) adminCreateWorkflow(c *gin.Context) {
	dealer := c.Param("dealer")
	wf := definitions.Workflow{Key: strings.TrimSpace(c.PostForm("key")), Name: strings.TrimSpace(c.PostForm("name")), Phases: []string{}}
	if ph := c.PostForm("first_phase"); ph != "" {
		wf.Phases = append(wf.Phases, ph)
	}
	err := s.send(c, http.MethodPost, adminAPI(dealer, "workflows"), api.AdminWorkflow{Workflow: wf}, nil)
	if err == nil {
		redirect(c, withSaved(adminPath(dealer, "workflows", wf.Key)))
		return
	}
	s.workflowListFailed(c, err, func(d *workflowListData, ps *problems) {
		d.New = wf
		d.NewErr["name"] = ps.under("workflows[" + wf.Key + "].name")
		d.NewErr["phase"] = ps.under("workflows[" + wf.Key + "].phases")
		d.NewErr["key"] = ps.under("key", "workflows["+wf.Key+"]")
	})
}

// wfUse is one field use of a phase as the workflow page lists it.
type wfUse struct {
	Side     string
	Index    int
	Field    string
	Label    string
	Required bool
	Err      string
}

// wfRow is one phase of the workflow in order, with what the editor changes of it.
type wfRow struct {
	Index        int
	Key          string
	Phase        api.AdminPhase
	Known        bool
	First, Last  bool
	CondErr      string
	FollowErr    string
	RowErr       string
	Uses         []wfUse
	FollowUpKeys []string
}

// wfForm is the workflow editor's data.
type wfForm struct {
	Workflow   definitions.Workflow
	System     bool
	Rows       []wfRow
	AllPhases  []api.AdminPhase
	Versions   []api.VersionSummary
	Usage      api.WorkflowUsage
	Validation *api.Validation
	Err        map[string]string
	Rest       []problem
	// Valid says the last check found no problem.
	Valid bool
}

// workflowFromForm reads the editor's form: the workflow and the changes to its own
// phases' conditions and follow-ups.
func workflowFromForm(c *gin.Context, key string) (definitions.Workflow, map[int][2]string) {
	wf := definitions.Workflow{Key: key, Name: strings.TrimSpace(c.PostForm("name")), NoCustomerEmails: c.PostForm("no_customer_emails") != "", Phases: []string{}}
	edits := map[int][2]string{}
	n, _ := strconv.Atoi(c.PostForm("phase_count"))
	for i := 0; i < n && i < 500; i++ {
		k := c.PostForm(fmt.Sprintf("phase.%d", i))
		if k == "" {
			continue
		}
		if _, ok := c.GetPostForm(fmt.Sprintf("cond.%d", i)); ok {
			edits[len(wf.Phases)] = [2]string{strings.TrimSpace(c.PostForm(fmt.Sprintf("cond.%d", i))), c.PostForm(fmt.Sprintf("follow.%d", i))}
		}
		wf.Phases = append(wf.Phases, k)
	}
	return wf, edits
}

// changedPhases are the own phases whose condition or follow-up the form changes.
func changedPhases(wf definitions.Workflow, edits map[int][2]string, catalog []api.AdminPhase) []definitions.Phase {
	var out []definitions.Phase
	for i, k := range wf.Phases {
		e, ok := edits[i]
		if !ok {
			continue
		}
		j := slices.IndexFunc(catalog, func(p api.AdminPhase) bool { return p.Key == k })
		if j < 0 || catalog[j].System {
			continue
		}
		ph := catalog[j].Phase
		if ph.Condition == e[0] && ph.FollowUp == e[1] {
			continue
		}
		ph.Condition, ph.FollowUp = e[0], e[1]
		if !slices.ContainsFunc(out, func(p definitions.Phase) bool { return p.Key == ph.Key }) {
			out = append(out, ph)
		}
	}
	return out
}

// workflowForm builds the editor's data, with drafts (unsaved phase changes) shown in
// place of the catalog's phases and the problems beside what they concern.
func (s *site) workflowForm(c *gin.Context, wf definitions.Workflow, system bool, drafts []definitions.Phase, ps *problems) (*wfForm, error) {
	dealer := c.Param("dealer")
	var phases api.PhaseList
	if err := s.get(c, adminAPI(dealer, "phases"), nil, &phases); err != nil {
		return nil, err
	}
	var fields api.FieldList
	if err := s.get(c, adminAPI(dealer, "fields"), nil, &fields); err != nil {
		return nil, err
	}
	wd := &wfForm{Workflow: wf, System: system, AllPhases: phases.Phases, Err: map[string]string{}}
	if err := s.get(c, adminAPI(dealer, "workflows", wf.Key, "usage"), nil, &wd.Usage); err != nil {
		return nil, err
	}
	var versions api.VersionList
	if err := s.get(c, adminAPI(dealer, "workflows", wf.Key, "versions"), nil, &versions); err != nil {
		return nil, err
	}
	wd.Versions = versions.Versions
	labels := map[string]string{}
	for _, f := range fields.Fields {
		labels[f.Key] = f.Label
	}
	byKey := map[string]api.AdminPhase{}
	for _, ph := range phases.Phases {
		byKey[ph.Key] = ph
	}
	for _, d := range drafts {
		ph := byKey[d.Key]
		ph.Phase = d
		byKey[d.Key] = ph
	}
	if ps == nil {
		ps = &problems{}
	}
	wfBase := "workflows[" + wf.Key + "]"
	seen := map[string]bool{}
	for i, k := range wf.Phases {
		ph, known := byKey[k]
		r := wfRow{Index: i, Key: k, Phase: ph, Known: known, First: i == 0, Last: i == len(wf.Phases)-1, FollowUpKeys: wf.Phases}
		rowPath := fmt.Sprintf("%s.phases[%d]", wfBase, i)
		r.FollowErr = ps.under(rowPath + ".follow_up")
		r.RowErr = ps.under(rowPath)
		if !seen[k] {
			seen[k] = true
			base := "phases[" + k + "]"
			r.CondErr = ps.under(base + ".condition")
			r.FollowErr = joinText(r.FollowErr, ps.under(base+".follow_up"))
			for _, side := range []struct {
				name string
				uses []definitions.FieldUse
			}{{sideCustomer, ph.CustomerFields}, {sideStaff, ph.StaffFields}} {
				for j, u := range side.uses {
					label := labels[u.Field]
					if u.Label != "" {
						label = u.Label
					}
					r.Uses = append(r.Uses, wfUse{Side: side.name, Index: j, Field: u.Field, Label: label, Required: u.Required,
						Err: ps.under(fmt.Sprintf("%s.%s_fields[%d]", base, side.name, j))})
				}
			}
			r.RowErr = joinText(r.RowErr, ps.under(base))
		}
		wd.Rows = append(wd.Rows, r)
	}
	wd.Err["name"] = ps.under(wfBase + ".name")
	wd.Err["phases"] = ps.under(wfBase + ".phases")
	if m := joinText(ps.under("key"), ps.at(wfBase)); m != "" {
		wd.Err["key"] = m
	}
	wd.Rest = ps.rest()
	return wd, nil
}

// savedWorkflowForm is the editor of the saved workflow key; at gives the problems to
// show for the workflow (nil: none).
func (s *site) savedWorkflowForm(c *gin.Context, key string, at func(definitions.Workflow) *problems) (*wfForm, error) {
	var w api.AdminWorkflow
	if err := s.get(c, adminAPI(c.Param("dealer"), "workflows", key), nil, &w); err != nil {
		return nil, err
	}
	var ps *problems
	if at != nil {
		ps = at(w.Workflow)
	}
	return s.workflowForm(c, w.Workflow, w.System, nil, ps)
}

func (s *site) adminWorkflow(c *gin.Context) {
	s.adminShow(c, "admin/workflow", "admin_wf.edit_title", func(p *Page) (any, error) {
		if v := c.Query("published"); v != "" {
			p.Notice = p.T("admin_wf.published", "version", v)
		}
		return s.savedWorkflowForm(c, c.Param("key"), nil)
	})
}

// applyPhaseAction applies an order button (up:2, down:2, remove:2, add) to the
// workflow's phases and their edits.
func applyPhaseAction(c *gin.Context, wf *definitions.Workflow, edits map[int][2]string, action string) {
	if action == "add" {
		if k := c.PostForm("add_phase"); k != "" {
			wf.Phases = append(wf.Phases, k)
		}
		return
	}
	verb, n, ok := strings.Cut(action, ":")
	i, err := strconv.Atoi(n)
	if !ok || err != nil || i < 0 || i >= len(wf.Phases) {
		return
	}
	swap := func(a, b int) {
		wf.Phases[a], wf.Phases[b] = wf.Phases[b], wf.Phases[a]
		ea, oka := edits[a]
		eb, okb := edits[b]
		delete(edits, a)
		delete(edits, b)
		if oka {
			edits[b] = ea
		}
		if okb {
			edits[a] = eb
		}
	}
	switch verb {
	case "up":
		if i > 0 {
			swap(i-1, i)
		}
	case "down":
		if i+1 < len(wf.Phases) {
			swap(i, i+1)
		}
	case "remove":
		wf.Phases = slices.Delete(wf.Phases, i, i+1)
		moved := map[int][2]string{}
		for j, e := range edits {
			switch {
			case j < i:
				moved[j] = e
			case j > i:
				moved[j-1] = e
			}
		}
		clear(edits)
		for j, e := range moved {
			edits[j] = e
		}
	}
}

func (s *site) adminSaveWorkflow(c *gin.Context) {
	dealer, key := c.Param("dealer"), c.Param("key")
	var current api.AdminWorkflow
	if err := s.get(c, adminAPI(dealer, "workflows", key), nil, &current); err != nil {
		s.fail(c, err)
		return
	}
	var phases api.PhaseList
	if err := s.get(c, adminAPI(dealer, "phases"), nil, &phases); err != nil {
		s.fail(c, err)
		return
	}
	wf, edits := workflowFromForm(c, key)
	if current.System {
		wf = current.Workflow
	}
	action := c.PostForm("action")
	applyPhaseAction(c, &wf, edits, action)
	drafts := changedPhases(wf, edits, phases.Phases)
	if action == "validate" {
		body := api.ValidateBody{Phases: drafts}
		if !current.System {
			body.Workflows = []definitions.Workflow{wf}
		}
		var v api.Validation
		if err := s.send(c, http.MethodPost, adminAPI(dealer, "workflows", key, "validate"), body, &v); err != nil {
			s.fail(c, err)
			return
		}
		wd, err := s.workflowForm(c, wf, current.System, drafts, validationProblems(v, wf))
		if err != nil {
			s.fail(c, err)
			return
		}
		wd.Validation = &v
		wd.Valid = len(v.Problems) == 0 && len(v.CatalogProblems) == 0
		p := s.adminPage(c, "admin_wf.edit_title")
		p.Data = wd
		s.render(c, http.StatusOK, "admin/workflow", "", p)
		return
	}
	// Save: the workflow, then each own phase the form changed.
	var err error
	if !current.System {
		err = s.send(c, http.MethodPut, adminAPI(dealer, "workflows", key), api.AdminWorkflow{Workflow: wf}, nil)
	}
	for i := 0; err == nil && i < len(drafts); i++ {
		err = s.sendPart(c, http.MethodPut, adminAPI(dealer, "phases", drafts[i].Key), api.AdminPhase{Phase: drafts[i]})
	}
	if err == nil {
		to := withSaved(adminPath(dealer, "workflows", key))
		if action != "save" && action != "" {
			to += "#phase-order"
		}
		redirect(c, to)
		return
	}
	s.adminRefused(c, err, "admin/workflow", "admin_wf.edit_title", func(ps *problems) (any, error) {
		return s.workflowForm(c, wf, current.System, drafts, ps)
	})
}

// sendPart sends one more state-changing request of a form that makes several, under
// a key of its own (partKey), so a repeated form repeats each once.
func (s *site) sendPart(c *gin.Context, method, path string, body any) error {
	_, err := s.call(c, apiRequest{Method: method, Path: path, Body: body, Key: partKey(c, path)}, nil)
	return err
}

func (s *site) adminPublish(c *gin.Context) {
	dealer, key := c.Param("dealer"), c.Param("key")
	var out api.PublishedRef
	err := s.send(c, http.MethodPost, adminAPI(dealer, "workflows", key, "publish"), struct{}{}, &out)
	if err == nil {
		redirect(c, adminPath(dealer, "workflows", key)+"?published="+strconv.Itoa(out.Version))
		return
	}
	s.adminRefused(c, err, "admin/workflow", "admin_wf.edit_title", func(ps *problems) (any, error) {
		// The API names the resolved workflow's phases by index; the form by key.
		return s.savedWorkflowForm(c, key, func(w definitions.Workflow) *problems {
			return ps.mapPaths(func(path string) string { return catalogPath(path, key, w.Phases) })
		})
	})
}
