;; A module with no linear memory and no globals: a tier switch has nothing to carry.
(module
  (func (export "area") (param $w i32) (param $h i32) (result i32)
    (i32.mul (local.get $w) (local.get $h))))
