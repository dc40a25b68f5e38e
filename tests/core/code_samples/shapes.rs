use std::fmt;

pub struct Circle {
    radius: f64,
}

pub enum Color {
    Red,
    Green,
}

pub trait Shape {
    fn area(&self) -> f64;
}

impl Shape for Circle {
    fn area(&self) -> f64 {
        std::f64::consts::PI * self.radius * self.radius
    }
}

impl fmt::Display for Circle {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "circle")
    }
}

pub mod util {
    pub fn double(x: f64) -> f64 {
        x * 2.0
    }
}

type Meters = f64;

macro_rules! square {
    ($x:expr) => {
        $x * $x
    };
}
