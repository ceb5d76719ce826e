package main

import (
	"github.com/recopub/recopub/features"
	"github.com/recopub/recopub/model"
	"github.com/recopub/recopub/publish"
)

// families lists the list families a run publishes. The neighbour lists
// come first: --show and the summary read them from Families[0].
func (c *runCommand) families(ds *features.Dataset, nb *model.Neighbors, profiles *features.Profiles) []publish.Family {
	_ = profiles // segment lists are built from profiles (model issue)
	return []publish.Family{{Name: publish.FamilySimilar, Lists: neighborLists{nb, ds.Items}}}
}
