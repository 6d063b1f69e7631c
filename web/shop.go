package web

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jobmanager/jobmanager/api"
	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
)

// customerRoutes are the customer's pages under /shop/:dealer: the dealer's public
// vehicle list (park a vehicle, ask for a call back), the parking page with each job's
// current step, and the account pages. Customers come once, on a phone: one column,
// big buttons, the next thing to do on top.
func (s *site) customerRoutes(g *gin.RouterGroup) {
	g.GET("", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, pagePath("shop", c.Param("dealer"), "vehicles")) })
	g.GET("/vehicles", s.shopVehicles)
	g.POST("/park", s.shopPark)
	g.GET("/callback", s.shopCallbackPage)
	g.POST("/callback", s.shopCallback)
	g.GET("/parkplatz", s.shopParking)
	g.POST("/jobs/:number/submit", s.shopSubmit)
	g.POST("/jobs/:number/form", s.shopForm)
	g.GET("/jobs/:number/files/:id", s.shopFile)
	g.GET("/link/:token", s.shopLink)
	g.GET("/login", s.shopLoginPage)
	g.POST("/login", s.shopLogin)
	g.GET("/register", s.shopRegisterPage)
	g.POST("/register", s.shopRegister)
	g.POST("/logout", s.shopLogout)
	g.GET("/password-reset", s.shopResetPage)
	g.POST("/password-reset", s.shopReset)
	g.POST("/password-reset/confirm", s.shopResetConfirm)
}

// notices are the one-line messages a redirect asks the next page to show (?done=).
var shopNotices = map[string]string{
	"parked": "shop.notice_parked", "callback": "shop.notice_callback", "saved": "shop.notice_saved",
	"login": "shop.notice_login", "registered": "shop.notice_registered", "link": "shop.notice_link",
	"reset": "shop.notice_reset_sent",
}

// shopPage starts a customer page; Data is filled by the handler.
func (s *site) shopPage(c *gin.Context, titleID string) *Page {
	p := s.newPage(c, "shop", "")
	p.Title = p.T(titleID)
	if id, ok := shopNotices[c.Query("done")]; ok {
		p.Notice = p.T(id)
	}
	return p
}

// shopFailed shows a customer form again with the API's refusal beside its fields, or
// the error page for failures that are not the visitor's.
func (s *site) shopFailed(c *gin.Context, err error, page, titleID string, data any) {
	ae, ok := asProblem(err)
	if !ok || ae.Status >= 500 {
		s.fail(c, err)
		return
	}
	p := s.shopPage(c, titleID)
	p.Problem = ae
	p.Data = data
	s.render(c, ae.Status, page, "", p)
}

// customerSession is the visitor's customer session, nil when there is none.
func (s *site) customerSession(c *gin.Context) *api.CustomerAnswer {
	var me api.CustomerAnswer
	if err := s.get(c, apiPath(c.Param("dealer"), "customer", "me"), nil, &me); err != nil {
		return nil
	}
	return &me
}

// --- the vehicle list, parking and call backs ---

// vehicleCard is one vehicle of the list, with whether the visitor has parked it.
type vehicleCard struct {
	api.PublicVehicle
	Parked bool
}

type vehiclesData struct {
	Vehicles []vehicleCard
	Me       *api.CustomerAnswer
}

func (s *site) shopVehicles(c *gin.Context) {
	s.renderVehicles(c, http.StatusOK, nil)
}

func (s *site) renderVehicles(c *gin.Context, status int, problem *apiError) {
	dealer := c.Param("dealer")
	var list api.PublicVehicleList
	if err := s.get(c, apiPath(dealer, "public", "vehicles"), nil, &list); err != nil {
		s.fail(c, err)
		return
	}
	parked := map[string]bool{}
	var mine api.CustomerJobList
	if err := s.get(c, apiPath(dealer, "customer", "jobs"), nil, &mine); err == nil {
		for _, j := range mine.Jobs {
			if !j.Status.Ended() {
				parked[j.Vehicle.ID] = true
			}
		}
	}
	data := vehiclesData{Me: s.customerSession(c)}
	for _, v := range list.Vehicles {
		data.Vehicles = append(data.Vehicles, vehicleCard{PublicVehicle: v, Parked: parked[v.ID]})
	}
	p := s.shopPage(c, "shop.vehicles_title")
	p.Problem = problem
	p.Data = data
	s.render(c, status, "shop/vehicles", "", p)
}

// shopPark parks a vehicle: the API starts the job and, for a visitor without a
// session, an anonymous one whose cookie comes back here.
func (s *site) shopPark(c *gin.Context) {
	var created api.JobCreated
	err := s.send(c, http.MethodPost, apiPath(c.Param("dealer"), "public", "park"), api.ParkBody{VehicleID: c.PostForm("vehicle_id")}, &created)
	if err != nil {
		if ae, ok := asProblem(err); ok && ae.Status < 500 {
			s.renderVehicles(c, ae.Status, ae)
			return
		}
		s.fail(c, err)
		return
	}
	s.awaitParked(c, created.Number)
	redirect(c, pagePath("shop", c.Param("dealer"), "parkplatz")+"?done=parked#job-"+strconv.FormatInt(created.Number, 10))
}

// awaitParked waits, briefly, until the parking list has the job just started: the
// list shows a job once its workflow has recorded it, a moment after the start, and a
// customer sent on to the parking page should find the vehicle there.
func (s *site) awaitParked(c *gin.Context, number int64) {
	deadline := time.Now().Add(parkWait)
	for {
		var list api.CustomerJobList
		if err := s.get(c, apiPath(c.Param("dealer"), "customer", "jobs"), nil, &list); err != nil {
			return
		}
		for _, j := range list.Jobs {
			if j.Number == number {
				return
			}
		}
		if time.Now().After(deadline) {
			return
		}
		select {
		case <-c.Request.Context().Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// parkWait bounds awaitParked; without a worker the job shows on a later visit.
const parkWait = 5 * time.Second

// callbackData is the call-back form.
type callbackData struct {
	Vehicle *api.PublicVehicle
	Name    string
	Phone   string
	Message string
}

// callbackVehicle is the vehicle a call-back form is about, nil for none or unknown.
func (s *site) callbackVehicle(c *gin.Context, id string) *api.PublicVehicle {
	if id == "" {
		return nil
	}
	var list api.PublicVehicleList
	if err := s.get(c, apiPath(c.Param("dealer"), "public", "vehicles"), nil, &list); err != nil {
		return nil
	}
	for _, v := range list.Vehicles {
		if v.ID == id {
			return &v
		}
	}
	return nil
}

func (s *site) shopCallbackPage(c *gin.Context) {
	p := s.shopPage(c, "shop.callback_title")
	data := callbackData{Vehicle: s.callbackVehicle(c, c.Query("vehicle"))}
	if me := s.customerSession(c); me != nil && me.Customer != nil {
		data.Name = me.Customer.Name
	}
	p.Data = data
	s.render(c, http.StatusOK, "shop/callback", "", p)
}

func (s *site) shopCallback(c *gin.Context) {
	body := api.CallbackBody{Name: c.PostForm("name"), Phone: c.PostForm("phone"), Message: c.PostForm("message"), VehicleID: c.PostForm("vehicle_id")}
	var created api.JobCreated
	if err := s.send(c, http.MethodPost, apiPath(c.Param("dealer"), "public", "callback"), body, &created); err != nil {
		data := callbackData{Vehicle: s.callbackVehicle(c, body.VehicleID), Name: body.Name, Phone: body.Phone, Message: body.Message}
		s.shopFailed(c, err, "shop/callback", "shop.callback_title", data)
		return
	}
	s.awaitParked(c, created.Number)
	redirect(c, pagePath("shop", c.Param("dealer"), "parkplatz")+"?done=callback#job-"+strconv.FormatInt(created.Number, 10))
}

// --- the parking page ---

// parkedJob is one job of the parking page with its current step.
type parkedJob struct {
	api.CustomerJob
	View *job.View
	// Page is the page as this job's form sees it: the refusal of the last form only
	// when that form was this job's.
	Page    *Page
	Docs    []api.JobFile
	DocBase string
	// Form is true when the step takes something from the customer; Multipart when a
	// file goes with it; Upload when it needs a button of its own (no save button).
	Form, Multipart, Upload bool
	// NeedsLogin is true when the step has inputs but no save button for a visitor who
	// is not logged in: the button's condition wants an account login.
	NeedsLogin bool
	// Other are refusals of fields the step does not show.
	Other []job.FieldError
}

type parkingData struct {
	Me   *api.CustomerAnswer
	Jobs []parkedJob
}

func (s *site) shopParking(c *gin.Context) {
	s.renderParking(c, http.StatusOK, 0, nil, nil)
}

// renderParking shows the parking page; failed is the job whose form the API refused
// with problem, and posted what that form sent, shown again.
func (s *site) renderParking(c *gin.Context, status int, failed int64, problem *apiError, posted map[string]any) {
	dealer := c.Param("dealer")
	p := s.shopPage(c, "shop.parking_title")
	data := parkingData{Me: s.customerSession(c)}
	var list api.CustomerJobList
	if data.Me != nil {
		if err := s.get(c, apiPath(dealer, "customer", "jobs"), nil, &list); err != nil {
			if ae, ok := asProblem(err); !ok || ae.Status != http.StatusUnauthorized {
				s.fail(c, err)
				return
			}
		}
	}
	for _, j := range list.Jobs {
		data.Jobs = append(data.Jobs, s.parkedJob(c, p, data.Me, j, failed, problem, posted))
	}
	p.Data = data
	s.render(c, status, "shop/parking", "", p)
}

// parkedJob reads a job's current step for the parking page. The job that is failed
// shows problem beside its fields, with the values posted (the posted form's when nil)
// and the fields those values make visible.
func (s *site) parkedJob(c *gin.Context, p *Page, me *api.CustomerAnswer, j api.CustomerJob, failed int64, problem *apiError, posted map[string]any) parkedJob {
	dealer := c.Param("dealer")
	pj := parkedJob{CustomerJob: j, DocBase: pagePath("shop", dealer, "jobs", j.Number, "files")}
	jp := *p
	jp.Problem = nil
	if j.Number == failed {
		jp.Problem = problem
	}
	pj.Page = &jp
	var view job.View
	if err := s.get(c, apiPath(dealer, "jobs", j.Number, "customer", "view"), nil, &view); err != nil {
		return pj
	}
	if j.Number == failed {
		view.Fields = s.asPosted(c, job.Customer, dealer, j.Number, view.Fields, posted)
	}
	pj.View = &view
	var docs api.DocumentList
	if err := s.get(c, apiPath(dealer, "jobs", j.Number, "customer", "documents"), nil, &docs); err == nil {
		pj.Docs = docs.Documents
	}
	s.fillForm(&pj, me)
	return pj
}

// shopForm answers a job's form again as the values it holds make it (htmx, on each
// change of a choice): fields whose condition the values fulfil show, the values
// entered stay. Nothing is stored.
func (s *site) shopForm(c *gin.Context) {
	dealer := c.Param("dealer")
	number, err := strconv.ParseInt(c.Param("number"), 10, 64)
	if err != nil || number <= 0 {
		s.renderError(c.Writer, c.Request, http.StatusNotFound, "error.not_found")
		return
	}
	if err := c.Request.ParseForm(); err != nil {
		s.renderError(c.Writer, c.Request, http.StatusBadRequest, "error.refused")
		return
	}
	var list api.CustomerJobList
	if err := s.get(c, apiPath(dealer, "customer", "jobs"), nil, &list); err != nil {
		s.fail(c, err)
		return
	}
	i := slices.IndexFunc(list.Jobs, func(j api.CustomerJob) bool { return j.Number == number })
	if i < 0 {
		s.renderError(c.Writer, c.Request, http.StatusNotFound, "error.not_found")
		return
	}
	p := s.shopPage(c, "shop.parking_title")
	me := s.customerSession(c)
	// The job shows as a refused form would, without a refusal: the fields the posted
	// values make visible, with those values.
	pj := s.parkedJob(c, p, me, list.Jobs[i], number, nil, nil)
	if !pj.Form {
		// The step moved on meanwhile and takes nothing now: the whole page, fresh.
		c.Header("HX-Refresh", "true")
		c.Status(http.StatusNoContent)
		return
	}
	p.Data = parkingData{Me: me, Jobs: []parkedJob{pj}}
	s.render(c, http.StatusOK, "shop/parking", "shop-job-forms", p)
}

// fillForm decides how a job's step is offered: a form when it takes something.
func (s *site) fillForm(pj *parkedJob, me *api.CustomerAnswer) {
	v := pj.View
	if v.Status.Ended() {
		return
	}
	pj.Form = hasInputs(v.Fields)
	pj.Multipart = multipartForm(v.Fields)
	hasButton, hasInput := false, false
	shown := map[string]bool{}
	for _, f := range v.Fields {
		shown[f.Key] = true
		if f.Type == definitions.TypeSaveButton {
			hasButton = true
		}
		if !f.ReadOnly && f.Type.Input() {
			hasInput = true
		}
	}
	pj.Upload = pj.Multipart && !hasButton
	pj.NeedsLogin = hasInput && !hasButton && (me == nil || !me.LoggedIn)
	if pj.Page.Problem != nil {
		for _, e := range pj.Page.Problem.Problem.Errors {
			if !shown[e.Field] {
				pj.Other = append(pj.Other, e)
			}
		}
	}
}

// shopSubmit sends a job's step: uploads first, then the fields, and back to the
// parking page; a refusal shows beside the fields of that job's form.
func (s *site) shopSubmit(c *gin.Context) {
	dealer := c.Param("dealer")
	number, err := strconv.ParseInt(c.Param("number"), 10, 64)
	if err != nil || number <= 0 {
		s.renderError(c.Writer, c.Request, http.StatusNotFound, "error.not_found")
		return
	}
	var view job.View
	if err := s.get(c, apiPath(dealer, "jobs", number, "customer", "view"), nil, &view); err != nil {
		s.fail(c, err)
		return
	}
	values, err := s.submitValues(c, job.Customer, dealer, number, view.Fields)
	if err == nil && needsSubmit(view.Fields) {
		phase := c.PostForm("phase")
		if phase == "" {
			phase = view.Phase.Key
		}
		err = s.send(c, http.MethodPost, apiPath(dealer, "jobs", number, "customer", "submit"), api.SubmitBody{Phase: phase, Values: values}, nil)
	}
	if err != nil {
		if ae, ok := asProblem(err); ok && ae.Status < 500 {
			s.renderParking(c, ae.Status, number, ae, values)
			return
		}
		s.fail(c, err)
		return
	}
	redirect(c, pagePath("shop", dealer, "parkplatz")+"?done=saved#job-"+strconv.FormatInt(number, 10))
}

// shopFile streams a document or upload of the customer's job from the API.
func (s *site) shopFile(c *gin.Context) {
	dealer := c.Param("dealer")
	res, err := s.call(c, apiRequest{Method: http.MethodGet, Path: apiPath(dealer, "jobs", c.Param("number"), "customer", "documents", c.Param("id"))}, nil)
	if err != nil {
		s.fail(c, err)
		return
	}
	for _, h := range []string{"Content-Disposition", "ETag", "Cache-Control", "X-Content-Type-Options"} {
		if v := res.Header.Get(h); v != "" {
			c.Header(h, v)
		}
	}
	c.Data(http.StatusOK, res.Header.Get("Content-Type"), res.Body)
}

// --- account: signed links, login, registration, password reset ---

// shopLink opens the signed link of a message: the API exchanges it for a customer
// session limited to the job, and the parking page shows it.
func (s *site) shopLink(c *gin.Context) {
	dealer := c.Param("dealer")
	var opened api.JobLinkOpened
	if err := s.get(c, apiPath(dealer, "customer", "link", c.Param("token")), nil, &opened); err != nil {
		if ae, ok := asProblem(err); ok && ae.Status < 500 {
			p := s.shopPage(c, "shop.login_title")
			p.Notice = p.T("shop.link_failed")
			p.Data = accountForm{Next: pagePath("shop", dealer, "parkplatz")}
			s.render(c, http.StatusOK, "shop/login", "", p)
			return
		}
		s.fail(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, pagePath("shop", dealer, "parkplatz")+"?done=link#job-"+strconv.FormatInt(opened.Number, 10))
}

// accountForm is the data of the login, registration and reset forms.
type accountForm struct {
	Name  string
	Email string
	Next  string
	Token string
}

// shopNext is where a login goes on to: a page of this site, else the parking page.
func shopNext(c *gin.Context, next string) string {
	return localPath(next, pagePath("shop", c.Param("dealer"), "parkplatz"))
}

func (s *site) shopLoginPage(c *gin.Context) {
	p := s.shopPage(c, "shop.login_title")
	p.Data = accountForm{Next: shopNext(c, c.Query("next"))}
	s.render(c, http.StatusOK, "shop/login", "", p)
}

func (s *site) shopLogin(c *gin.Context) {
	form := accountForm{Email: c.PostForm("email"), Next: shopNext(c, c.PostForm("next"))}
	err := s.send(c, http.MethodPost, apiPath(c.Param("dealer"), "customer", "login"), api.LoginBody{Email: form.Email, Password: c.PostForm("password")}, nil)
	if err != nil {
		s.shopFailed(c, err, "shop/login", "shop.login_title", form)
		return
	}
	redirect(c, withDone(form.Next, "login"))
}

func (s *site) shopRegisterPage(c *gin.Context) {
	p := s.shopPage(c, "shop.register_title")
	p.Data = accountForm{Next: shopNext(c, c.Query("next"))}
	s.render(c, http.StatusOK, "shop/register", "", p)
}

func (s *site) shopRegister(c *gin.Context) {
	form := accountForm{Name: c.PostForm("name"), Email: c.PostForm("email"), Next: shopNext(c, c.PostForm("next"))}
	body := api.RegisterBody{Name: form.Name, Email: form.Email, Password: c.PostForm("password")}
	if err := s.send(c, http.MethodPost, apiPath(c.Param("dealer"), "customer", "register"), body, nil); err != nil {
		s.shopFailed(c, err, "shop/register", "shop.register_title", form)
		return
	}
	redirect(c, withDone(form.Next, "registered"))
}

func (s *site) shopLogout(c *gin.Context) {
	if err := s.send(c, http.MethodPost, apiPath(c.Param("dealer"), "customer", "logout"), nil, nil); err != nil {
		s.fail(c, err)
		return
	}
	redirect(c, pagePath("shop", c.Param("dealer"), "vehicles"))
}

// shopResetPage asks for the address to send a reset link to or, with the link's
// token, for the new password.
func (s *site) shopResetPage(c *gin.Context) {
	titleID := "shop.reset_title"
	if c.Query("token") != "" {
		titleID = "shop.reset_new_title"
	}
	p := s.shopPage(c, titleID)
	p.Data = accountForm{Token: c.Query("token")}
	s.render(c, http.StatusOK, "shop/reset", "", p)
}

func (s *site) shopReset(c *gin.Context) {
	form := accountForm{Email: c.PostForm("email")}
	if err := s.send(c, http.MethodPost, apiPath(c.Param("dealer"), "customer", "password-reset"), api.PasswordResetBody{Email: form.Email}, nil); err != nil {
		s.shopFailed(c, err, "shop/reset", "shop.reset_title", form)
		return
	}
	redirect(c, pagePath("shop", c.Param("dealer"), "login")+"?done=reset")
}

func (s *site) shopResetConfirm(c *gin.Context) {
	form := accountForm{Token: c.PostForm("token")}
	body := api.PasswordResetConfirmBody{Token: form.Token, Password: c.PostForm("password")}
	if err := s.send(c, http.MethodPost, apiPath(c.Param("dealer"), "customer", "password-reset", "confirm"), body, nil); err != nil {
		s.shopFailed(c, err, "shop/reset", "shop.reset_new_title", form)
		return
	}
	redirect(c, pagePath("shop", c.Param("dealer"), "parkplatz")+"?done=login")
}

// withDone adds the notice to show to a local path.
func withDone(to, done string) string { return withParam(to, "done", done) }
