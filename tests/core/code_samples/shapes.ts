export interface Shape {
  name: string;
  area(): number;
}

export type Point = { x: number; y: number };

export enum Color {
  Red,
  Green,
}

export class Circle implements Shape {
  name = "circle";
  constructor(private radius: number) {}

  area(): number {
    return Math.PI * this.radius ** 2;
  }
}

export function makeCircle(radius: number): Circle {
  return new Circle(radius);
}

namespace Geometry {
  export const unit = 1;
}
