package scenario

type action any
