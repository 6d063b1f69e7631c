package definitions

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"

	"sigs.k8s.io/yaml"
)

//go:embed standard/*.yaml
var standardFiles embed.FS

// Standard workflow keys that ship with the product.
const (
	StandardMaster = "standard_master"
	StandardBasic  = "standard_basic"
)

// Standard returns the system catalog that ships with the product: the standard
// workflows with their phases, fields and message templates, every part marked system.
func Standard() (Catalog, error) {
	names, err := fs.Glob(standardFiles, "standard/*.yaml")
	if err != nil {
		return Catalog{}, fmt.Errorf("list standard files: %w", err)
	}
	sort.Strings(names)
	var all Catalog
	for _, name := range names {
		raw, err := standardFiles.ReadFile(name)
		if err != nil {
			return Catalog{}, fmt.Errorf("read %s: %w", name, err)
		}
		var part Catalog
		if err := yaml.UnmarshalStrict(raw, &part); err != nil {
			return Catalog{}, fmt.Errorf("parse %s: %w", name, err)
		}
		all.Fields = append(all.Fields, part.Fields...)
		all.Phases = append(all.Phases, part.Phases...)
		all.Workflows = append(all.Workflows, part.Workflows...)
		all.Messages = append(all.Messages, part.Messages...)
		all.Documents = append(all.Documents, part.Documents...)
	}
	for i := range all.Fields {
		all.Fields[i].System = true
	}
	for i := range all.Phases {
		all.Phases[i].System = true
	}
	for i := range all.Workflows {
		all.Workflows[i].System = true
	}
	for i := range all.Messages {
		all.Messages[i].System = true
	}
	return all, nil
}

// ParseCatalog reads a catalog from YAML or JSON, refusing unknown keys so a typo in a
// dealer's file is an error, not a silently ignored setting.
func ParseCatalog(raw []byte) (Catalog, error) {
	var c Catalog
	if err := yaml.UnmarshalStrict(raw, &c); err != nil {
		return Catalog{}, fmt.Errorf("parse catalog: %w", err)
	}
	return c, nil
}

// StandardDefinition resolves and validates one of the standard workflows.
func StandardDefinition(workflowKey string) (Definition, error) {
	c, err := Standard()
	if err != nil {
		return Definition{}, err
	}
	d, err := c.Resolve(workflowKey)
	if err != nil {
		return Definition{}, fmt.Errorf("resolve %s: %w", workflowKey, err)
	}
	if ps := d.Validate(); len(ps) > 0 {
		return Definition{}, fmt.Errorf("standard workflow %s: %w", workflowKey, ps)
	}
	return d, nil
}
