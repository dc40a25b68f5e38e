import fs from "fs";

export class Shape {
  constructor(name) {
    this.name = name;
  }

  area() {
    return 0;
  }
}

function circleArea(radius) {
  return Math.PI * radius * radius;
}

const square = (side) => {
  return side * side;
};
