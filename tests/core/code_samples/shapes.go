package shapes

import "math"

type Shape interface {
	Area() float64
}

type Circle struct {
	Radius float64
}

type Meters float64

func (c Circle) Area() float64 {
	return math.Pi * c.Radius * c.Radius
}

func NewCircle(r float64) Circle {
	return Circle{Radius: r}
}
