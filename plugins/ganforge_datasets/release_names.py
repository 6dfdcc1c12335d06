"""The CycleGAN releases by name, kept free of heavy imports so that listing them stays fast."""

# name -> what domains A and B hold (the name says A2B); images are resized to data.size (default 256) when read
RELEASES: dict[str, str] = {
    "apple2orange": "CycleGAN release: apples <-> oranges (ImageNet photos)",
    "horse2zebra": "CycleGAN release: horses <-> zebras (ImageNet photos)",
    "summer2winter_yosemite": "CycleGAN release: Yosemite in summer <-> in winter (Flickr photos)",
    "monet2photo": "CycleGAN release: Monet paintings <-> landscape photos",
    "cezanne2photo": "CycleGAN release: Cezanne paintings <-> landscape photos",
    "ukiyoe2photo": "CycleGAN release: Ukiyo-e prints <-> landscape photos",
    "vangogh2photo": "CycleGAN release: Van Gogh paintings <-> landscape photos",
    "iphone2dslr_flower": "CycleGAN release: iPhone <-> DSLR flower photos (shallow depth of field)",
    "maps": "CycleGAN release: aerial photos <-> Google Maps renderings",
    "facades": "CycleGAN release: CMP building facades <-> their label maps",
}
