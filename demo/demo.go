// Package demo seeds the demo dealer that `make dev` runs and the page tests walk: staff
// logins, a customer account, vehicles, and the standard workflows published with
// Standard Master active. It only writes through package store.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"golang.org/x/crypto/bcrypt"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/job"
	"github.com/jobmanager/jobmanager/store"
)

// The demo dealer's identity and the password of every demo login, printed by `dev`.
const (
	Dealer   = "autohaus-demo"
	Password = "demo1234"
)

// Staff are the demo dealer's staff logins: the owner first, then sales.
var Staff = []store.StaffUser{
	{Email: "chefin@autohaus-demo.de", Name: "Petra Schulz", Role: store.RoleOwner},
	{Email: "verkauf@autohaus-demo.de", Name: "Jonas Becker", Role: store.RoleSales},
}

// Customer is the demo customer, with an account.
var Customer = store.Customer{Name: "Erika Mustermann", Email: "erika@example.org", Phone: "+49 30 1234567"}

// Vehicles are the demo dealer's stock.
var Vehicles = []job.Vehicle{
	{Number: "A-1001", Make: "Volkswagen", Model: "Golf 8 Life 1.5 eTSI", PriceCents: 2_789_000, Location: "Berlin-Mitte", Extras: []string{"Anhängerkupplung", "Navigation", "Sitzheizung"}},
	{Number: "A-1002", Make: "Škoda", Model: "Octavia Combi 2.0 TDI", PriceCents: 3_149_000, Location: "Potsdam", Extras: []string{"Panoramadach", "Anhängerkupplung"}},
	{Number: "A-1003", Make: "BMW", Model: "320d Touring", PriceCents: 4_290_000, Location: "Berlin-Mitte", Extras: []string{"Head-up-Display", "Harman Kardon", "Winterräder"}},
}

// Seed creates the demo dealer with staff, vehicles and the standard workflows
// published. It does nothing when the dealer exists, so a second `dev` keeps the data.
func Seed(ctx context.Context, st *store.Store, logger *slog.Logger) (created bool, err error) {
	if _, err := st.GetDealer(ctx, Dealer); err == nil {
		return false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("look up demo dealer: %w", err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(Password), bcrypt.DefaultCost)
	if err != nil {
		return false, fmt.Errorf("hash demo password: %w", err)
	}
	var staffIDs []string
	if _, err := st.CreateDealer(ctx, store.Dealer{ID: Dealer, Name: "Autohaus Demo GmbH"}); err != nil {
		return false, fmt.Errorf("create demo dealer: %w", err)
	}
	for _, u := range Staff {
		u.Dealer, u.PasswordHash = Dealer, string(hash)
		created, err := st.CreateStaffUser(ctx, u)
		if err != nil {
			return false, fmt.Errorf("create staff %s: %w", u.Email, err)
		}
		staffIDs = append(staffIDs, created.ID)
	}
	for _, v := range Vehicles {
		if _, err := st.CreateVehicle(ctx, Dealer, v); err != nil {
			return false, fmt.Errorf("create vehicle %s: %w", v.Number, err)
		}
	}
	c := Customer
	c.Dealer = Dealer
	// An account, so the demo customer can log in with the demo password.
	if _, err := st.CreateCustomerAccount(ctx, c, string(hash)); err != nil {
		return false, fmt.Errorf("create demo customer: %w", err)
	}
	for _, key := range []string{definitions.StandardMaster, definitions.StandardBasic} {
		d, err := definitions.StandardDefinition(key)
		if err != nil {
			return false, err
		}
		if _, err := st.SaveDraft(ctx, Dealer, d); err != nil {
			return false, fmt.Errorf("save %s: %w", key, err)
		}
		if _, err := st.PublishVersion(ctx, Dealer, key); err != nil {
			return false, fmt.Errorf("publish %s: %w", key, err)
		}
	}
	if err := st.SetActiveWorkflow(ctx, Dealer, definitions.StandardMaster); err != nil {
		return false, fmt.Errorf("activate %s: %w", definitions.StandardMaster, err)
	}
	if err := st.SetDefaultSalesperson(ctx, Dealer, staffIDs[0]); err != nil {
		return false, fmt.Errorf("default salesperson: %w", err)
	}
	logger.Info("demo dealer seeded", "dealer", Dealer)
	return true, nil
}
