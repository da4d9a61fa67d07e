//go:build !linux

package cluster

func trimImage() {}
