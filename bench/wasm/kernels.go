package main

import "math"

// The kernels of kernels.c, written by hand in Go.

func escape(cr, ci float64, maxiter int) int {
	zr, zi := 0.0, 0.0
	i := 0
	for i < maxiter && zr*zr+zi*zi <= 4.0 {
		t := zr*zr - zi*zi + cr
		zi = 2*zr*zi + ci
		zr = t
		i++
	}
	return i
}

func mandel(n int) int64 {
	sum := int32(0)
	for y := 0; y < n; y++ {
		ci := -1.5 + 3.0*float64(y%1024)/1024
		for x := 0; x < 1024; x++ {
			sum += int32(escape(-2.0+3.0*float64(x)/1024, ci, 256))
		}
	}
	return int64(sum)
}

type body struct{ x, y, z, vx, vy, vz, m float64 }

func nbody(n int) int64 {
	const solarMass = 4 * math.Pi * math.Pi
	const days = 365.24
	b := [5]body{
		{0, 0, 0, 0, 0, 0, solarMass},
		{4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
			1.66007664274403694e-03 * days, 7.69901118419740425e-03 * days, -6.90460016972063023e-05 * days,
			9.54791938424326609e-04 * solarMass},
		{8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
			-2.76742510726862411e-03 * days, 4.99852801234917238e-03 * days, 2.30417297573763929e-05 * days,
			2.85885980666130812e-04 * solarMass},
		{1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
			2.96460137564761618e-03 * days, 2.37847173959480950e-03 * days, -2.96589568540237556e-05 * days,
			4.36624404335156298e-05 * solarMass},
		{1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
			2.68067772490389322e-03 * days, 1.62824170038242295e-03 * days, -9.51592254519715870e-05 * days,
			5.15138902046611451e-05 * solarMass},
	}
	var px, py, pz float64
	for i := range b {
		px += b[i].vx * b[i].m
		py += b[i].vy * b[i].m
		pz += b[i].vz * b[i].m
	}
	b[0].vx, b[0].vy, b[0].vz = -px/solarMass, -py/solarMass, -pz/solarMass
	for s := 0; s < n; s++ {
		for i := 0; i < 5; i++ {
			bi := &b[i]
			for j := i + 1; j < 5; j++ {
				bj := &b[j]
				dx, dy, dz := bi.x-bj.x, bi.y-bj.y, bi.z-bj.z
				d2 := dx*dx + dy*dy + dz*dz
				mag := 0.01 / (d2 * math.Sqrt(d2))
				bi.vx -= dx * bj.m * mag
				bi.vy -= dy * bj.m * mag
				bi.vz -= dz * bj.m * mag
				bj.vx += dx * bi.m * mag
				bj.vy += dy * bi.m * mag
				bj.vz += dz * bi.m * mag
			}
		}
		for i := range b {
			b[i].x += 0.01 * b[i].vx
			b[i].y += 0.01 * b[i].vy
			b[i].z += 0.01 * b[i].vz
		}
	}
	e := 0.0
	for i := range b {
		e += 0.5 * b[i].m * (b[i].vx*b[i].vx + b[i].vy*b[i].vy + b[i].vz*b[i].vz)
		for j := i + 1; j < 5; j++ {
			dx, dy, dz := b[i].x-b[j].x, b[i].y-b[j].y, b[i].z-b[j].z
			e -= b[i].m * b[j].m / math.Sqrt(dx*dx+dy*dy+dz*dz)
		}
	}
	return int64(e * 1e9)
}

var composite = make([]byte, 1<<24)

func sieve(n int) int64 {
	c := composite[:n]
	clear(c)
	count := 0
	for i := 2; i < n; i++ {
		if c[i] == 0 {
			count++
			for j := i * i; j < n; j += i {
				c[j] = 1
			}
		}
	}
	return int64(count)
}

func fnv(n int) int64 {
	var buf [1 << 16]byte
	s := uint32(2463534242)
	for i := range buf {
		s ^= s << 13
		s ^= s >> 17
		s ^= s << 5
		buf[i] = byte(s)
	}
	h := uint64(14695981039346656037)
	for p := 0; p < n; p++ {
		for _, c := range buf {
			h ^= uint64(c)
			h *= 1099511628211
		}
	}
	return int64(h)
}
