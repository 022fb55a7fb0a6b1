// Command importcheck fails when a package of this module imports across the layers that
// docs/architecture.md describes. make lint runs it from the module's root.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

func main() {
	pkgs, err := list()
	if err != nil {
		fmt.Fprintln(os.Stderr, "importcheck:", err)
		os.Exit(2)
	}
	vs := Check(pkgs)
	for _, v := range vs {
		fmt.Println(v)
	}
	if len(vs) > 0 {
		fmt.Fprintf(os.Stderr, "importcheck: %d imports cross the layers (docs/architecture.md)\n", len(vs))
		os.Exit(1)
	}
}

// list runs go list on the module and returns its packages with paths relative to the module.
func list() ([]Package, error) {
	mod, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m: %w", err)
	}
	prefix := strings.TrimSpace(string(mod)) + "/"
	var stderr bytes.Buffer
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "./...")
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, stderr.String())
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		var p Package
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		p.ImportPath = strings.TrimPrefix(p.ImportPath, prefix)
		var in []string
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, prefix) {
				in = append(in, strings.TrimPrefix(imp, prefix))
			}
		}
		p.Imports = in
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return nil, errors.New("go list found no packages")
	}
	return pkgs, nil
}
