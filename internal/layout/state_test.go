package layout

import (
	"encoding/json"
	"reflect"
	"testing"
)

// state.json is read by cairn-init at boot: its format is an interface.
func TestStateJSON(t *testing.T) {
	st := State{Default: 4, Trial: Trial{Generation: 5, TriesLeft: 1}, LastGood: 4, Good: []int{4, 2}, Pinned: []int{1}, Booted: 4, LastSealed: 5}
	data, err := json.MarshalIndent(st.Normal(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "default": 4,
  "trial": {
    "generation": 5,
    "triesLeft": 1
  },
  "lastGood": 4,
  "good": [
    2,
    4
  ],
  "pinned": [
    1
  ],
  "booted": 4,
  "lastSealed": 5
}`
	if string(data) != want {
		t.Errorf("state.json:\n%s\nwant\n%s", data, want)
	}
	var back State
	if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(back, st.Normal()) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	empty, _ := json.Marshal(State{})
	if string(empty) != "{}" {
		t.Errorf("empty state = %s, want {}", empty)
	}
}

func TestParseNumber(t *testing.T) {
	for name, want := range map[string]int{"1": 1, "42": 42, "0": 0, "01": 0, "-1": 0, "+1": 0, "x": 0, "": 0, "1.json": 0} {
		n, ok := ParseNumber(name)
		if n != want || ok != (want != 0) {
			t.Errorf("ParseNumber(%q) = %d, %t; want %d", name, n, ok, want)
		}
	}
}
