package followup_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/salesapp/scrm/sync/followup"
)

func TestSuggestPicksTheBestMatchNotYetViewedInTheGivenOrder(t *testing.T) {
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	ms := []followup.Material{{ID: a, Title: "A", Tags: []string{"x"}}, {ID: b, Title: "B", Tags: []string{"x", "y"}}, {ID: c, Title: "C", Tags: []string{"y"}}}
	require.Equal(t, "B", followup.Suggest(ms, map[string]bool{"x": true, "y": true}, nil).Title)
	require.Equal(t, "A", followup.Suggest(ms, map[string]bool{"x": true}, map[uuid.UUID]bool{b: true}).Title) // a tie: the first given
	require.Equal(t, "A", followup.Suggest(ms, nil, nil).Title)                                                // nothing read: the first given
	require.Nil(t, followup.Suggest(ms, nil, map[uuid.UUID]bool{a: true, b: true, c: true}))
	require.Nil(t, followup.Suggest(nil, nil, nil))
}
