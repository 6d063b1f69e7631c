package store_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/jobmanager/jobmanager/definitions"
	"github.com/jobmanager/jobmanager/store"
	"github.com/jobmanager/jobmanager/store/pgtest"
)

// systemPhase returns a copy of a phase of the system catalog.
func systemPhase(t *testing.T, key string) definitions.Phase {
	t.Helper()
	c, err := definitions.Standard()
	require.NoError(t, err)
	for _, p := range c.Phases {
		if p.Key == key {
			p.System = false
			return p
		}
	}
	t.Fatalf("no system phase %q", key)
	return definitions.Phase{}
}

func problemsOf(t *testing.T, err error) definitions.Problems {
	t.Helper()
	ps, ok := definitions.AsProblems(err)
	require.True(t, ok, "want definitions.Problems in %v", err)
	return ps
}

func paths(ps definitions.Problems) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Path
	}
	return out
}

func keysOf[T any](list []T, key func(T) string) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = key(x)
	}
	return out
}

func fieldKeys(c definitions.Catalog) []string {
	return keysOf(c.Fields, func(f definitions.Field) string { return f.Key })
}

func TestCatalogIsSystemPlusOwnParts(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "berg")
	newDealer(t, s, "tal")
	system, err := definitions.Standard()
	require.NoError(t, err)

	c, err := s.Catalog(ctx, "berg")
	require.NoError(t, err)
	require.Equal(t, system, c, "a new dealer builds from the system catalog")
	_, err = s.Catalog(ctx, "nobody")
	require.ErrorIs(t, err, store.ErrNotFound)

	wunsch := definitions.Field{Key: "wunschtermin", Type: definitions.TypeText, Label: "Wunschtermin"}
	written, err := s.CreateParts(ctx, "berg", "staff-1", store.Parts{Fields: []definitions.Field{wunsch}})
	require.NoError(t, err)
	require.Len(t, written, 1)
	require.Equal(t, store.PartField, written[0].Kind)
	require.Equal(t, "staff-1", written[0].UpdatedBy)
	c, err = s.Catalog(ctx, "berg")
	require.NoError(t, err)
	require.Equal(t, append(fieldKeys(system), "wunschtermin"), fieldKeys(c), "own parts come after the system parts")

	phase := systemPhase(t, "angebot")
	phase.Key, phase.Name = "mein_angebot", "Mein Angebot"
	phase.CustomerFields = append(phase.CustomerFields, definitions.FieldUse{Field: "wunschtermin", Required: true})
	wf := definitions.Workflow{Key: "mein_ablauf", Name: "Mein Ablauf", Phases: []string{"anfrage", "mein_angebot", "auftrag"}}
	mail := definitions.MessageTemplate{Key: "termin_mail", Channel: definitions.ChannelEmail, Customer: true, Subject: "Ihr Termin", Body: "Guten Tag {kunde}"}
	phase.Messages = append(phase.Messages, "termin_mail")
	_, err = s.CreateParts(ctx, "berg", "staff-2", store.Parts{
		Phases: []definitions.Phase{phase}, Workflows: []definitions.Workflow{wf}, Messages: []definitions.MessageTemplate{mail},
	})
	require.NoError(t, err, "parts that refer to each other are written together")

	c, infos, err := s.CatalogInfo(ctx, "berg")
	require.NoError(t, err)
	require.Len(t, c.Fields, len(system.Fields)+1)
	own := c.Fields[len(c.Fields)-1]
	require.Equal(t, wunsch, own)
	require.False(t, own.System)
	require.Equal(t, phase, c.Phases[len(c.Phases)-1])
	require.Equal(t, wf, c.Workflows[len(c.Workflows)-1])
	require.Equal(t, mail, c.Messages[len(c.Messages)-1])
	require.Len(t, infos, 4)
	require.Equal(t, store.PartField, infos[0].Kind)
	require.Equal(t, "wunschtermin", infos[0].Key)
	require.Equal(t, "staff-1", infos[0].UpdatedBy)
	require.Equal(t, "staff-2", infos[1].UpdatedBy)
	require.False(t, infos[0].UpdatedAt.IsZero())

	d, err := c.Resolve("mein_ablauf")
	require.NoError(t, err)
	require.Empty(t, d.Validate())
	wfield, ok := d.Field("wunschtermin")
	require.True(t, ok)
	require.Equal(t, "Wunschtermin", wfield.Label)

	// A field is shared: its new label is what every phase using it shows.
	wunsch.Label = "Ihr Wunschtermin"
	_, err = s.ReplaceParts(ctx, "berg", "staff-3", store.Parts{Fields: []definitions.Field{wunsch}})
	require.NoError(t, err)
	c, infos, err = s.CatalogInfo(ctx, "berg")
	require.NoError(t, err)
	require.Equal(t, append(fieldKeys(system), "wunschtermin"), fieldKeys(c), "a change keeps the part's place")
	require.Equal(t, "staff-3", infos[0].UpdatedBy)
	require.True(t, infos[0].UpdatedAt.After(infos[0].CreatedAt) || infos[0].UpdatedAt.Equal(infos[0].CreatedAt))
	d, err = c.Resolve("mein_ablauf")
	require.NoError(t, err)
	wfield, _ = d.Field("wunschtermin")
	require.Equal(t, "Ihr Wunschtermin", wfield.Label)

	// Another dealer sees none of it.
	other, err := s.Catalog(ctx, "tal")
	require.NoError(t, err)
	require.Equal(t, system, other)
	_, err = s.ReplaceParts(ctx, "tal", "x", store.Parts{Fields: []definitions.Field{wunsch}})
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestCatalogRefusesSystemChangesAndTakenKeys(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "berg")

	lieferart := definitions.Field{Key: "lieferart", Type: definitions.TypeText, Label: "Lieferart"}
	_, err := s.ReplaceParts(ctx, "berg", "x", store.Parts{Fields: []definitions.Field{lieferart}})
	require.ErrorIs(t, err, store.ErrSystemPart)
	require.Equal(t, definitions.Problems{{Path: "fields[lieferart]",
		Message: `system field "lieferart" cannot be changed; copy it under a new key`}}, problemsOf(t, err))
	_, err = s.ReplaceParts(ctx, "berg", "x", store.Parts{Phases: []definitions.Phase{systemPhase(t, "angebot")}})
	require.ErrorIs(t, err, store.ErrSystemPart, "not even unchanged")
	_, err = s.CreateParts(ctx, "berg", "x", store.Parts{Fields: []definitions.Field{lieferart}})
	require.ErrorIs(t, err, store.ErrConflict)
	require.Equal(t, []string{"fields[lieferart].key"}, paths(problemsOf(t, err)))

	own := definitions.Field{Key: "eigen", Type: definitions.TypeText, Label: "Eigen"}
	_, err = s.CreateParts(ctx, "berg", "x", store.Parts{Fields: []definitions.Field{own}})
	require.NoError(t, err)
	_, err = s.CreateParts(ctx, "berg", "x", store.Parts{Fields: []definitions.Field{own}})
	require.ErrorIs(t, err, store.ErrConflict)
	_, err = s.ReplaceParts(ctx, "berg", "x", store.Parts{Fields: []definitions.Field{{Key: "fehlt", Type: definitions.TypeText, Label: "x"}}})
	require.ErrorIs(t, err, store.ErrNotFound)
	require.Equal(t, []string{"fields[fehlt]"}, paths(problemsOf(t, err)))

	_, err = s.CreateParts(ctx, "berg", "x", store.Parts{Fields: []definitions.Field{{Key: "Bad Key", Type: definitions.TypeText, Label: "x"}}})
	require.Equal(t, []string{"fields[Bad Key].key"}, paths(problemsOf(t, err)))
	_, err = s.CreateParts(ctx, "berg", "x", store.Parts{Phases: []definitions.Phase{{Key: "zwei", Name: "a"}, {Key: "zwei", Name: "b"}}})
	require.Equal(t, []string{"phases[zwei].key"}, paths(problemsOf(t, err)))
	own.System = true
	_, err = s.ReplaceParts(ctx, "berg", "x", store.Parts{Fields: []definitions.Field{own}})
	require.Equal(t, definitions.Problems{{Path: "fields[eigen].system", Message: `own field "eigen" cannot be a system field`}}, problemsOf(t, err))

	c, err := s.Catalog(ctx, "berg")
	require.NoError(t, err)
	system, err := definitions.Standard()
	require.NoError(t, err)
	require.Equal(t, append(fieldKeys(system), "eigen"), fieldKeys(c), "refused writes store nothing")
	require.False(t, c.Fields[len(c.Fields)-1].System)
}

func TestCatalogRefusesBrokenReferencesWhereTheyAreMade(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "berg")
	create := func(p store.Parts) error {
		_, err := s.CreateParts(ctx, "berg", "x", p)
		return err
	}
	replace := func(p store.Parts) error {
		_, err := s.ReplaceParts(ctx, "berg", "x", p)
		return err
	}

	// A phase that is in no workflow yet is checked all the same.
	phase := systemPhase(t, "angebot")
	phase.Key = "mein_angebot"
	phase.CustomerFields = append(phase.CustomerFields,
		definitions.FieldUse{Field: "gibtsnicht"},
		definitions.FieldUse{Field: "lieferart", Condition: `fields.lieferart ==`})
	phase.Messages = append(phase.Messages, "keine_vorlage")
	phase.FollowUp = "nirgendwo"
	ps := problemsOf(t, create(store.Parts{Phases: []definitions.Phase{phase}}))
	require.Equal(t, []string{
		"phases[mein_angebot].customer_fields[7].field",
		"phases[mein_angebot].customer_fields[8].field",
		"phases[mein_angebot].customer_fields[8].condition",
		"phases[mein_angebot].messages[2]",
		"phases[mein_angebot].follow_up",
	}, paths(ps))
	require.Equal(t, `unknown field "gibtsnicht"`, ps[0].Message)
	require.Contains(t, ps[2].Message, "at 1:20", "a broken condition says where")
	require.Equal(t, `unknown message template "keine_vorlage"`, ps[3].Message)

	// A message template is checked on its own too.
	ps = problemsOf(t, create(store.Parts{Messages: []definitions.MessageTemplate{{Key: "kurz", Channel: "fax", Body: " "}}}))
	require.Equal(t, []string{"messages[kurz].channel", "messages[kurz].body"}, paths(ps))
	ps = problemsOf(t, create(store.Parts{Messages: []definitions.MessageTemplate{{Key: "ohne_betreff", Channel: definitions.ChannelEmail, Body: "x"}}}))
	require.Equal(t, []string{"messages[ohne_betreff].subject"}, paths(ps))

	// A workflow with an unknown phase, and one whose follow-up leaves it.
	ps = problemsOf(t, create(store.Parts{Workflows: []definitions.Workflow{{Key: "kaputt", Name: "Kaputt", Phases: []string{"anfrage", "probefahrt"}}}}))
	require.Equal(t, []string{"workflows[kaputt].phases[1]"}, paths(ps))
	ps = problemsOf(t, create(store.Parts{Workflows: []definitions.Workflow{{Key: "kurz", Name: "Kurz", Phases: []string{"anfrage", "lieferung"}}}}))
	require.Equal(t, []string{"workflows[kurz].phases[1].follow_up"}, paths(ps))

	// A shared field changed so that a phase using it breaks is refused, naming the use.
	wunsch := definitions.Field{Key: "wunschtermin", Type: definitions.TypeText, Label: "Wunschtermin"}
	phase = systemPhase(t, "angebot")
	phase.Key = "mein_angebot"
	phase.CustomerFields = append(phase.CustomerFields, definitions.FieldUse{Field: "wunschtermin", Required: true})
	require.NoError(t, create(store.Parts{Fields: []definitions.Field{wunsch}}))
	require.NoError(t, create(store.Parts{Phases: []definitions.Phase{phase}}))
	require.NoError(t, create(store.Parts{Workflows: []definitions.Workflow{{Key: "mein_ablauf", Name: "Mein Ablauf", Phases: []string{"anfrage", "mein_angebot"}}}}))
	wunsch.Type = definitions.TypeJobStatus
	ps = problemsOf(t, replace(store.Parts{Fields: []definitions.Field{wunsch}}))
	require.Equal(t, []string{"phases[mein_angebot].customer_fields[7].field"}, paths(ps),
		"named once, at the phase, not again at the workflow using it")
	require.Equal(t, "a job_status field cannot be used in the customer view", ps[0].Message)
	wunsch.Type, wunsch.Label = definitions.TypeSelect, " "
	ps = problemsOf(t, replace(store.Parts{Fields: []definitions.Field{wunsch}}))
	require.Equal(t, []string{"fields[wunschtermin].label", "fields[wunschtermin].options"}, paths(ps))

	c, err := s.Catalog(ctx, "berg")
	require.NoError(t, err)
	f := c.Fields[len(c.Fields)-1]
	require.Equal(t, definitions.TypeText, f.Type, "a refused change changes nothing")
}

// A catalog that has a problem already (say, a product update changed a system field
// an own part relies on) can still be worked on: only new problems are refused.
func TestCatalogRefusesOnlyNewProblems(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "berg")
	_, err := s.Pool().Exec(ctx, `
		INSERT INTO catalog_parts (dealer, kind, key, body)
		VALUES ('berg', 'phase', 'alt', '{"key": "alt", "name": "Alt", "customer_fields": [{"field": "entfallen"}]}')`)
	require.NoError(t, err)

	_, err = s.CreateParts(ctx, "berg", "x", store.Parts{Fields: []definitions.Field{{Key: "neu", Type: definitions.TypeText, Label: "Neu"}}})
	require.NoError(t, err, "an unrelated write goes through")
	_, err = s.CreateParts(ctx, "berg", "x", store.Parts{Phases: []definitions.Phase{{Key: "auch_kaputt", Name: "x",
		StaffFields: []definitions.FieldUse{{Field: "entfallen"}}}}})
	require.Equal(t, []string{"phases[auch_kaputt].staff_fields[0].field"}, paths(problemsOf(t, err)))
	_, err = s.ReplaceParts(ctx, "berg", "x", store.Parts{Phases: []definitions.Phase{{Key: "alt", Name: "Alt",
		CustomerFields: []definitions.FieldUse{{Field: "neu"}}}}})
	require.NoError(t, err, "the broken part can be repaired")
}

// Each write is checked against the whole catalog, so two writes that are each fine
// alone but break it together cannot both pass.
func TestCatalogWritesAreSerialised(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "berg")
	field := definitions.Field{Key: "hinweis", Type: definitions.TypeText, Label: "Hinweis"}
	_, err := s.CreateParts(ctx, "berg", "x", store.Parts{Fields: []definitions.Field{field}})
	require.NoError(t, err)

	for round := range 5 {
		staffOnly := field
		staffOnly.Type = definitions.TypeSuppressMessages
		phase := definitions.Phase{Key: "zeigt_hinweis_" + string(rune('a'+round)), Name: "Zeigt Hinweis",
			CustomerFields: []definitions.FieldUse{{Field: "hinweis"}}}
		var wg sync.WaitGroup
		var fieldErr, phaseErr error
		wg.Go(func() {
			_, fieldErr = s.ReplaceParts(ctx, "berg", "x", store.Parts{Fields: []definitions.Field{staffOnly}})
		})
		wg.Go(func() { _, phaseErr = s.CreateParts(ctx, "berg", "x", store.Parts{Phases: []definitions.Phase{phase}}) })
		wg.Wait()
		require.True(t, (fieldErr == nil) != (phaseErr == nil), "round %d: exactly one write wins: field %v, phase %v", round, fieldErr, phaseErr)

		c, err := s.Catalog(ctx, "berg")
		require.NoError(t, err)
		system, err := definitions.Standard()
		require.NoError(t, err)
		require.Empty(t, definitions.ValidateCatalog(c, system))
		if fieldErr == nil {
			// Undo for the next round: no phase shows the field to customers yet.
			_, err = s.ReplaceParts(ctx, "berg", "x", store.Parts{Fields: []definitions.Field{field}})
			require.NoError(t, err)
		} else {
			_, err = s.ReplaceParts(ctx, "berg", "x", store.Parts{Phases: []definitions.Phase{{Key: phase.Key, Name: "Leer"}}})
			require.NoError(t, err)
		}
	}
}

func TestCatalogOwnPartsAreValidWhenStored(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "berg")
	// The table refuses what the store would never write.
	for _, bad := range []string{
		`('berg', 'field', 'Gross', '{"key": "Gross"}')`,
		`('berg', 'field', 'a', '{"key": "b"}')`,
		`('berg', 'widget', 'a', '{"key": "a"}')`,
		`('berg', 'field', 'a', '[]')`,
		`('niemand', 'field', 'a', '{"key": "a"}')`,
	} {
		_, err := s.Pool().Exec(ctx, `INSERT INTO catalog_parts (dealer, kind, key, body) VALUES `+bad)
		require.Error(t, err, bad)
		require.True(t, store.IsPermanent(err), "%s: %v", bad, err)
	}
	require.True(t, store.ValidPartKey("mein_feld_2"))
	require.False(t, slices.ContainsFunc([]string{"", "2feld", "Feld", "mein-feld", strings.Repeat("a", 64)}, store.ValidPartKey))
}

func TestCatalogPreviewStoresNothing(t *testing.T) {
	ctx := context.Background()
	s := pgtest.New(t)
	newDealer(t, s, "berg")

	phase := systemPhase(t, "angebot")
	phase.Key = "mein_angebot"
	phase.CustomerFields = append(phase.CustomerFields, definitions.FieldUse{Field: "feedback_text", Condition: `fields.lieferart ==`})
	wf := definitions.Workflow{Key: "mein_ablauf", Name: "Mein Ablauf", Phases: []string{"anfrage", "mein_angebot"}}
	lieferart := definitions.Field{Key: "lieferart", Type: definitions.TypeText, Label: "Lieferart"}
	c, ps, err := s.PreviewParts(ctx, "berg", store.Parts{
		Fields: []definitions.Field{lieferart}, Phases: []definitions.Phase{phase}, Workflows: []definitions.Workflow{wf},
	})
	require.NoError(t, err)
	require.Equal(t, []string{"fields[lieferart]", "phases[mein_angebot].customer_fields[7].condition"}, paths(ps))
	require.Contains(t, ps[1].Message, "at 1:20")
	for _, field := range c.Fields {
		if field.Key == "lieferart" {
			require.True(t, field.System, "a system part is reported, not applied")
		}
	}
	d, err := c.Resolve("mein_ablauf")
	require.NoError(t, err, "the previewed workflow resolves although it is not stored")
	require.Equal(t, []string{"phases[1].customer_fields[7].condition"}, paths(d.Validate()))

	stored, err := s.Catalog(ctx, "berg")
	require.NoError(t, err)
	system, err := definitions.Standard()
	require.NoError(t, err)
	require.Equal(t, system, stored, "a preview stores nothing")
	_, _, err = s.PreviewParts(ctx, "nobody", store.Parts{})
	require.ErrorIs(t, err, store.ErrNotFound)
}
