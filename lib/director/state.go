package director

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
)

// bosh create-env's state file, as far as light stemcells need it; every other field is kept
// as bosh wrote it.
type stateStemcell struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version string `json:"version"`
	CID     string `json:"cid"`
}

func readState(path string) (map[string]json.RawMessage, []stateStemcell, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var stemcells []stateStemcell
	if raw, ok := doc["stemcells"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &stemcells); err != nil {
			return nil, nil, fmt.Errorf("reading the stemcells of %s: %w", path, err)
		}
	}
	return doc, stemcells, nil
}

func currentStemcell(doc map[string]json.RawMessage, stemcells []stateStemcell) (stateStemcell, bool) {
	var id string
	_ = json.Unmarshal(doc["current_stemcell_id"], &id) // absent or not a string: no current stemcell
	for _, s := range stemcells {
		if id != "" && s.ID == id {
			return s, true
		}
	}
	return stateStemcell{}, false
}

// dropLightStemcells removes from the state file every stemcell whose image is in light, except
// keep (an image id; "" keeps none): bosh would delete those images, which the light-stemcell
// resource published and others use. It returns the image ids dropped.
func dropLightStemcells(path string, light []string, keep string) ([]string, error) {
	doc, stemcells, err := readState(path)
	if err != nil {
		return nil, err
	}
	var kept []json.RawMessage
	var dropped []string
	var raws []json.RawMessage
	if raw, ok := doc["stemcells"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &raws); err != nil {
			return nil, err
		}
	}
	current, hasCurrent := currentStemcell(doc, stemcells)
	for i, s := range stemcells {
		if slices.Contains(light, s.CID) && s.CID != keep {
			dropped = append(dropped, s.CID)
			if hasCurrent && current.ID == s.ID {
				doc["current_stemcell_id"] = json.RawMessage(`""`)
			}
			continue
		}
		kept = append(kept, raws[i])
	}
	if len(dropped) == 0 {
		return nil, nil
	}
	if kept == nil {
		kept = []json.RawMessage{}
	}
	doc["stemcells"], _ = json.Marshal(kept) // raw JSON values always encode
	out, err := json.MarshalIndent(doc, "", "    ")
	if err != nil {
		return nil, err
	}
	return dropped, os.WriteFile(path, out, 0o600)
}
